"""``licentia payments``: map providers' product or price ids to products and license types; list them.

Registered by ``licentia.cli`` like the other optional parts (``register``).
"""

from __future__ import annotations

import argparse
from typing import Any

PROVIDER_CHOICES = ("stripe", "paddle", "fastspring")


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("payments", help="map payment providers' products or prices to products and license types")
    actions = p.add_subparsers(dest="payments_action", required=True, metavar="ACTION")
    add = actions.add_parser("map", parents=[common], help="map a provider's price or product id")
    add.add_argument("provider", choices=PROVIDER_CHOICES)
    add.add_argument("external_id", help="the provider's price or product id")
    add.add_argument("--product", required=True, help="the Licentia product slug")
    add.add_argument("--policy-id", type=int, help="the license type (default: the product's)")
    add.add_argument("--max-devices", type=int)
    add.add_argument("--duration-days", type=int, help="one-time purchases: days the license is valid")
    add.add_argument("--feature", action="append", default=[])
    add.add_argument("--on-refund", choices=("suspend", "revoke"), default="revoke")
    add.set_defaults(func=cmd_map)
    unmap = actions.add_parser("unmap", parents=[common], help="remove a mapping by id")
    unmap.add_argument("mapping_id", type=int)
    unmap.set_defaults(func=cmd_unmap)
    listing = actions.add_parser("list", parents=[common], help="list the mappings")
    listing.set_defaults(func=cmd_list)


def _actor() -> str:
    import os

    return "cli:" + (os.environ.get("USER") or os.environ.get("LOGNAME") or "unknown")


def cmd_map(args: argparse.Namespace) -> int:
    from licentia.cli import connect
    from licentia.core.clock import SystemClock
    from licentia.server.payments.mapping import add_mapping

    _settings, engine = connect(args)
    with engine.begin() as conn:
        mapping_id = add_mapping(
            conn,
            provider=args.provider,
            external_id=args.external_id,
            product=args.product,
            policy_id=args.policy_id,
            max_devices=args.max_devices,
            duration_days=args.duration_days,
            features=args.feature,
            on_refund=args.on_refund,
            actor=_actor(),
            now=SystemClock().now(),
        )
    print(mapping_id)
    return 0


def cmd_unmap(args: argparse.Namespace) -> int:
    from licentia.cli import connect
    from licentia.core.clock import SystemClock
    from licentia.server.payments.mapping import remove_mapping

    _settings, engine = connect(args)
    with engine.begin() as conn:
        remove_mapping(conn, mapping_id=args.mapping_id, actor=_actor(), now=SystemClock().now())
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    from licentia.cli import connect
    from licentia.server.payments.mapping import list_mappings

    _settings, engine = connect(args)
    with engine.connect() as conn:
        for m in list_mappings(conn):
            print(
                f"{m['id']}\t{m['provider']}\t{m['external_id']}\t{m['product']}\t"
                f"type {m['policy_id'] or 'default'}\ton refund {m['on_refund']}"
            )
    return 0
