"""``licentia policy``: a product's license types (named policies).

    licentia policy list PRODUCT
    licentia policy show PRODUCT NAME
    licentia policy create PRODUCT NAME [--copy-of NAME] [--set KNOB=VALUE ...]
    licentia policy set PRODUCT NAME [--set KNOB=VALUE ...] [--rename NEW]

Knobs (docs/licensing-models.md): numbers, true/false, null, dates
(YYYY-MM-DD), and JSON objects for entitlements and meters, e.g.
--set 'entitlements={"export_pdf": true, "max_projects": 10}'.
A change reaches every license of the policy at its next check; the expiry
and the end of maintenance already on a license stay (they were sold).
"""

from __future__ import annotations

import argparse

from licentia.server.cli.context import CliContext, CliError

TYPE_CHECKING = False  # typing is not imported: see cli/context.py
if TYPE_CHECKING:
    from typing import Any

# The top-level commands this module registers, with their help lines (see build_parser).
COMMANDS = {
    "policy": "license types of a product: list, show, create, set knobs",
}


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser], options: argparse.ArgumentParser) -> None:
    group = commands.add_parser(
        "policy",
        parents=[options],
        help=COMMANDS["policy"],
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = group.add_subparsers(dest="action", required=True, metavar="ACTION")
    p = actions.add_parser("list", parents=[options], help="the product's license types, the default first")
    p.add_argument("product", metavar="PRODUCT")
    p.set_defaults(run=list_policies)
    for action, summary in (
        ("show", "one license type, every knob (JSON)"),
        ("create", "a new license type (knobs not given: the defaults, or --copy-of)"),
        ("set", "change knobs; every license of the type follows at its next check"),
    ):
        p = actions.add_parser(action, parents=[options], help=summary)
        p.add_argument("product", metavar="PRODUCT")
        p.add_argument("name", metavar="NAME", help="the license type's name (quote names with spaces)")
        if action != "show":
            p.add_argument("--set", action="append", default=[], metavar="KNOB=VALUE", help="a knob (repeatable)")
        if action == "create":
            p.add_argument("--copy-of", metavar="NAME", help="start from this license type's knobs")
        if action == "set":
            p.add_argument("--rename", metavar="NEW", help="give the license type a new name")
        p.set_defaults(run={"show": show, "create": create, "set": change}[action])


def knob_settings(items: list[str]) -> dict[str, Any]:
    """``--set KNOB=VALUE`` options as policy knobs (shared with ``licentia license issue``)."""
    from licentia.server.policies.knobs import parse_setting

    return dict(parse_setting(item) for item in items)


def _print(row: Any) -> int:
    import json

    from licentia.server.policies.service import policy_view

    print(json.dumps(policy_view(row), indent=2))
    return 0


def list_policies(args: argparse.Namespace, ctx: CliContext) -> int:
    from licentia.server.policies.service import license_counts
    from licentia.server.policies.service import list_policies as rows_of

    with ctx.engine.connect() as conn:
        rows = rows_of(conn, product=args.product)
        counts = license_counts(conn, rows[0].product_id) if rows else {}
    for row in rows:
        default = " (default)" if row.is_default else ""
        print(f"{row.name}{default}\t{row.kind}\t{row.max_devices} machines\t{counts.get(row.id, 0)} licenses")
    return 0


def show(args: argparse.Namespace, ctx: CliContext) -> int:
    from licentia.server.policies.service import get_policy

    return _print(ctx.read(get_policy, product=args.product, name=args.name))


def create(args: argparse.Namespace, ctx: CliContext) -> int:
    from licentia.server.policies.schemas import PolicySpec
    from licentia.server.policies.service import create_policy

    spec = PolicySpec(knobs=knob_settings(args.set), name=args.name, copy_of=args.copy_of)
    return _print(ctx.change(create_policy, spec=spec, product=args.product))


def change(args: argparse.Namespace, ctx: CliContext) -> int:
    from licentia.server.policies.schemas import PolicySpec
    from licentia.server.policies.service import change_policy

    spec = PolicySpec(knobs=knob_settings(args.set), name=args.rename)
    if not spec.knobs and not spec.name:
        raise CliError("policy set needs --set KNOB=VALUE (or --rename NEW)")
    return _print(ctx.change(change_policy, spec=spec, product=args.product, name=args.name))
