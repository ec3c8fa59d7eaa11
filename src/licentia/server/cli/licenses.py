"""``licentia license``: issue, list, suspend, revoke and reinstate licenses."""

from __future__ import annotations

import argparse

from licentia.server.cli import offline
from licentia.server.cli.context import CliContext, date_argument

STATE_CHANGES = ("suspend", "revoke", "reinstate")

# The top-level commands this module registers, with their help lines (see build_parser).
COMMANDS = {
    "license": "issue, list, suspend, revoke, reinstate licenses; their terms, meter usage, certificates, leases, "
    "transfers, users",
}


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser], options: argparse.ArgumentParser) -> None:
    group = commands.add_parser("license", parents=[options], help=COMMANDS["license"])
    actions = group.add_subparsers(dest="action", required=True, metavar="ACTION")
    p = actions.add_parser("issue", parents=[options], help="issue a license key (printed once, never stored in clear)")
    p.add_argument("--product", required=True)
    p.add_argument("--email", required=True, help="the customer's email")
    p.add_argument("--name", help="the customer's name")
    p.add_argument("--max-devices", type=int)
    p.add_argument("--expires", type=date_argument, help="expiry date, YYYY-MM-DD")
    p.add_argument("--feature", action="append", help="feature flag (repeatable)")
    p.add_argument("--order", help="order reference of the purchase")
    p.add_argument("--send-email", action="store_true", help="email the key to the customer (through the outbox)")
    p.add_argument("--policy", help="the license type (a policy's name; the product's default if omitted)")
    p.add_argument("--set", action="append", default=[], metavar="KNOB=VALUE", help="override a knob of the type")
    p.set_defaults(run=issue)
    p = actions.add_parser("list", parents=[options], help="licenses by key prefix (never the whole key)")
    p.add_argument("--prefix", default="", help="key prefix to search")
    p.add_argument("--product", help="only this product's licenses")
    p.set_defaults(run=list_licenses)
    p = actions.add_parser("terms", parents=[options], help="change a license's type, overrides or end of updates")
    p.add_argument("id", type=int, help="license id")
    p.add_argument("--policy", help="move the license to this license type")
    p.add_argument("--set", action="append", default=[], metavar="KNOB=VALUE", help="override a knob (repeatable)")
    p.add_argument("--unset", action="append", default=[], metavar="KNOB", help="drop an override (repeatable)")
    updates = p.add_mutually_exclusive_group()
    updates.add_argument("--maintenance-until", type=date_argument, help="updates released until this date")
    updates.add_argument("--maintenance-forever", action="store_true", help="offer every release")
    p.set_defaults(run=terms)
    p = actions.add_parser("usage", parents=[options], help="a license's meters: used, limit, remaining this period")
    p.add_argument("license", metavar="KEY_OR_PREFIX_OR_ID")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(run=usage)
    p = actions.add_parser("certificate", parents=[options], help="the license's signed purchase certificate")
    p.add_argument("license", metavar="KEY_OR_PREFIX_OR_ID")
    p.add_argument("--output", "-o", help="write it to this file (default: standard output)")
    p.set_defaults(run=certificate)
    for action in STATE_CHANGES:
        p = actions.add_parser(action, parents=[options], help=f"{action} a license")
        p.add_argument("id", type=int, help="license id")
        p.add_argument("--reason", help="why (a refund, a leaked key): kept in the audit log")
        p.set_defaults(run=change)
    offline.register(actions, options)  # offline-activate, offline-deactivate (air-gapped machines)
    from licentia.server.cli import leases as leases_cli  # floating leases: their own module
    from licentia.server.cli import transfers as transfers_cli  # moves to another machine: their own module
    from licentia.server.cli import users as users_cli  # the people of a user license: their own module

    leases_cli.register(actions, options)
    transfers_cli.register(actions, options)
    users_cli.register(actions, options)


def issue(args: argparse.Namespace, ctx: CliContext) -> int:
    from licentia.server.cli.policies import knob_settings
    from licentia.server.licenses.changes import issue_and_email
    from licentia.server.licenses.schemas import LicenseOrder, validated

    order = validated(
        LicenseOrder,
        {
            "product": args.product,
            "email": args.email.strip(),
            "name": args.name,
            "max_devices": args.max_devices,
            "expires_at": args.expires,
            "features": args.feature or [],
            "order_ref": args.order or None,
            "source": "cli",
            "send_email": args.send_email,
            "policy": args.policy,
            "overrides": knob_settings(args.set),
        },
    )
    print(ctx.change(issue_and_email, order=order, fernet=ctx.settings.fernet()).key)
    return 0


def list_licenses(args: argparse.Namespace, ctx: CliContext) -> int:
    from licentia.server.licenses.reads import licenses_by_prefix

    with ctx.snapshot() as snapshot:
        for row in licenses_by_prefix(snapshot, args.prefix, product=args.product):
            expiry = row["expires_at"].date().isoformat() if row["expires_at"] else "never"
            print(f"{row['id']}\t{row['key_prefix']}\t{row['state']}\texpires {expiry}")
    return 0


def terms(args: argparse.Namespace, ctx: CliContext) -> int:
    import json

    from licentia.server.cli.policies import knob_settings
    from licentia.server.licenses.changes import change_terms
    from licentia.server.licenses.schemas import TermsChange, validated
    from licentia.server.licenses.views import license_view

    change = validated(
        TermsChange,
        {
            "policy": args.policy,
            "set": knob_settings(args.set),
            "unset": args.unset,
            "maintenance_until": args.maintenance_until,
            "maintenance_forever": args.maintenance_forever,
        },
    )
    with ctx.engine.begin() as conn:
        change_terms(conn, change, license_id=args.id, actor=ctx.actor, now=ctx.clock.now())
        view = license_view(conn, args.id, ctx.clock.now())
    shown = {k: view[k] for k in ("policy", "max_devices", "policy_overrides", "maintenance_until", "entitlements")}
    print(json.dumps(shown, indent=2, default=str))
    return 0


def change(args: argparse.Namespace, ctx: CliContext) -> int:
    from licentia.server.licenses.changes import change_state

    state = ctx.change(change_state, license_id=args.id, action=args.action, reason=args.reason)
    print(f"license {args.id} is now {state}")
    return 0


def usage(args: argparse.Namespace, ctx: CliContext) -> int:
    from licentia.server.cli.meters import print_usage

    return print_usage(ctx, args.license, as_json=args.json)


def certificate(args: argparse.Namespace, ctx: CliContext) -> int:
    from licentia.server.cli.certificates import write_certificate

    return write_certificate(ctx, args.license, args.output)
