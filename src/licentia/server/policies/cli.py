"""``licentia policy``: a product's license types from a shell.

    licentia policy list PRODUCT
    licentia policy show PRODUCT NAME
    licentia policy create PRODUCT NAME [--copy-of NAME] [--set KNOB=VALUE ...]
    licentia policy set PRODUCT NAME [--set KNOB=VALUE ...] [--rename NEW]

Knobs (docs/licensing-models.md): numbers, true/false, null, dates
(YYYY-MM-DD), and JSON objects for entitlements and meters, e.g.
--set 'entitlements={"export_pdf": true, "max_projects": 10}'.
Changes reach every license of the policy at its next check; the expiry and
maintenance end already on a license stay (renew it, or change its terms).
"""

from __future__ import annotations

import argparse
import json
from typing import Any

ACTIONS = ("list", "show", "create", "set")


def register(subparsers: Any, common: argparse.ArgumentParser) -> None:
    p = subparsers.add_parser(
        "policy",
        parents=[common],
        help="license types of a product: list, show, create, set knobs",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("action", choices=ACTIONS)
    p.add_argument("product", metavar="PRODUCT")
    p.add_argument("name", nargs="?", metavar="NAME", help="the policy's name (quote names with spaces)")
    p.add_argument("--set", action="append", default=[], metavar="KNOB=VALUE", help="a knob (repeatable)")
    p.add_argument("--copy-of", metavar="NAME", help="create: start from this policy's knobs")
    p.add_argument("--rename", metavar="NEW", help="set: give the policy a new name")
    p.set_defaults(func=cmd_policy)


def settings_of(items: list[str]) -> dict[str, Any]:
    from licentia.server.policies.knobs import parse_setting

    return dict(parse_setting(item) for item in items)


def cmd_policy(args: argparse.Namespace) -> int:
    from licentia.cli import CliError, _actor, connect
    from licentia.core.clock import SystemClock
    from licentia.server.policies.service import (
        change_policy,
        create_policy,
        get_policy,
        license_counts,
        list_policies,
        policy_view,
    )

    if args.action != "list" and not args.name:
        raise CliError(f"policy {args.action} needs the policy's NAME after the product")
    values = settings_of(args.set)
    now = SystemClock().now()
    _, engine = connect(args)
    with engine.begin() as conn:
        if args.action == "list":
            rows = list_policies(conn, product=args.product)
            counts = license_counts(conn, rows[0].product_id) if rows else {}
            for row in rows:
                default = " (default)" if row.is_default else ""
                print(f"{row.name}{default}\t{row.kind}\t{row.max_devices} machines\t{counts.get(row.id, 0)} licenses")
            return 0
        if args.action == "show":
            row = get_policy(conn, product=args.product, name=args.name)
        elif args.action == "create":
            row = create_policy(
                conn, product=args.product, name=args.name, values=values, copy_of=args.copy_of, actor=_actor(), now=now
            )
        else:
            if not values and not args.rename:
                raise CliError("policy set needs --set KNOB=VALUE (or --rename)")
            row = change_policy(
                conn, product=args.product, name=args.name, values=values, rename=args.rename, actor=_actor(), now=now
            )
        print(json.dumps(policy_view(row), indent=2))
    return 0
