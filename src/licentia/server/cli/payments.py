"""``licentia payments``: map providers' product or price ids to products and license types; list them.

Only the standard library is imported at module level: building the parser
must not load the server.
"""

from __future__ import annotations

import argparse

from licentia.server.cli.context import CliContext

# The top-level commands this module registers, with their help lines (see build_parser).
COMMANDS = {
    "payments": "map payment providers' products or prices to products and license types",
}
PROVIDER_CHOICES = ("stripe", "paddle", "fastspring")


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser], options: argparse.ArgumentParser) -> None:
    group = commands.add_parser("payments", parents=[options], help=COMMANDS["payments"])
    actions = group.add_subparsers(dest="payments_action", required=True, metavar="ACTION")
    p = actions.add_parser("map", parents=[options], help="map a provider's price or product id")
    p.add_argument("provider", choices=PROVIDER_CHOICES)
    p.add_argument("external_id", help="the provider's price or product id")
    p.add_argument("--product", required=True, help="the Licentia product slug")
    p.add_argument("--policy-id", type=int, help="the license type (default: the product's)")
    p.add_argument("--max-devices", type=int)
    p.add_argument("--duration-days", type=int, help="one-time purchases: days the license is valid")
    p.add_argument("--feature", action="append", default=[])
    p.add_argument("--on-refund", choices=("suspend", "revoke"), default="revoke")
    p.add_argument(
        "--organisation", action="store_true", help="sell seats to organisations: the quantity bought is the seats"
    )
    p.set_defaults(run=map_id)
    p = actions.add_parser("unmap", parents=[options], help="remove a mapping by id")
    p.add_argument("mapping_id", type=int)
    p.set_defaults(run=unmap)
    p = actions.add_parser("list", parents=[options], help="list the mappings")
    p.set_defaults(run=list_all)


def map_id(args: argparse.Namespace, ctx: CliContext) -> int:
    from licentia.server.payments.mapping import MappingSpec, add_mapping

    spec = MappingSpec.of(
        provider=args.provider,
        external_id=args.external_id.strip(),
        product=args.product,
        policy_id=args.policy_id,
        max_devices=args.max_devices,
        duration_days=args.duration_days,
        features=args.feature,
        on_refund=args.on_refund,
        organisation=args.organisation,
    )
    with ctx.engine.begin() as conn:
        mapping_id = add_mapping(conn, spec, actor=ctx.actor, now=ctx.clock.now())
    print(mapping_id)
    return 0


def unmap(args: argparse.Namespace, ctx: CliContext) -> int:
    from licentia.server.payments.mapping import remove_mapping

    with ctx.engine.begin() as conn:
        remove_mapping(conn, mapping_id=args.mapping_id, actor=ctx.actor, now=ctx.clock.now())
    return 0


def list_all(args: argparse.Namespace, ctx: CliContext) -> int:
    from licentia.server.payments.mapping import list_mappings

    for m in ctx.read(list_mappings):
        print(
            f"{m['id']}\t{m['provider']}\t{m['external_id']}\t{m['product']}\t"
            f"type {m['policy_id'] or 'default'}\ton refund {m['on_refund']}"
            + ("\torganisation seats" if m["organisation"] else "")
        )
    return 0
