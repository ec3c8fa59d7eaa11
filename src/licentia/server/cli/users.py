"""``licentia license users|add-user|free-user|move-user``: the people of a license whose seats are users."""

from __future__ import annotations

import argparse

# ``typing`` itself costs the CLI's start a tenth: names for the type checker only.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from licentia.server.cli.context import CliContext


def register(actions: Any, options: argparse.ArgumentParser) -> None:
    """Add the user-seat actions to ``licentia license`` (called by cli/licenses.py)."""
    p = actions.add_parser("users", parents=[options], help="the people named on a user license, and their machines")
    p.add_argument("ref", metavar="LICENSE", help="license id, full key or key prefix")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(run=show)
    p = actions.add_parser("add-user", parents=[options], help="name a person on a user license (audited)")
    p.add_argument("ref", metavar="LICENSE", help="license id, full key or key prefix")
    p.add_argument("email")
    p.add_argument("--at-sign-in", action="store_true", help="take the seat at their first sign-in, if one is free")
    p.set_defaults(run=add)
    p = actions.add_parser("free-user", parents=[options], help="free a person's seat: their machines leave (audited)")
    p.add_argument("ref", metavar="LICENSE", help="license id, full key or key prefix")
    p.add_argument("email")
    p.add_argument("--reason", help="why: kept in the audit log")
    p.set_defaults(run=free)
    p = actions.add_parser("move-user", parents=[options], help="give a person's seat to another person (audited)")
    p.add_argument("ref", metavar="LICENSE", help="license id, full key or key prefix")
    p.add_argument("email", help="who holds the seat now")
    p.add_argument("to", help="who gets it")
    p.set_defaults(run=move)


def _license_id(ctx: CliContext, ref: str) -> int:
    from licentia.server.evidence.subjects import find_license

    with ctx.engine.connect() as conn:
        return int(find_license(conn, ref).id)


def show(args: argparse.Namespace, ctx: CliContext) -> int:
    import json

    from licentia.server.users.service import list_users

    license_id = _license_id(ctx, args.ref)
    with ctx.engine.connect() as conn:
        found = list_users(conn, license_id=license_id)
    if args.json:
        print(json.dumps(found, default=lambda v: v.isoformat().replace("+00:00", "Z"), indent=2))
        return 0
    seated = sum(1 for user in found if user["seated_at"])
    print(f"license {license_id}: {seated} of the named people hold a seat")
    for user in found:
        seat = "seat" if user["seated_at"] else "no seat yet"
        print(f"{user['email']}\t{seat}\tmachines: {', '.join(user['machines']) or '-'}")
    return 0


def add(args: argparse.Namespace, ctx: CliContext) -> int:
    from licentia.server.users.service import assign_user

    license_id = _license_id(ctx, args.ref)
    changed = ctx.change(assign_user, license_id=license_id, email=args.email, seat=not args.at_sign_in)
    what = "may take a seat at their first sign-in" if args.at_sign_in else "holds a seat"
    print(f"{args.email} {what}" if changed else f"{args.email} was already named on the license")
    return 0


def free(args: argparse.Namespace, ctx: CliContext) -> int:
    from licentia.server.users.service import free_user

    license_id = _license_id(ctx, args.ref)
    left = ctx.change(free_user, license_id=license_id, email=args.email, reason=args.reason)
    print(f"{args.email}'s seat is free; {left} installation(s) left the license")
    return 0


def move(args: argparse.Namespace, ctx: CliContext) -> int:
    from licentia.server.users.service import reassign_user

    license_id = _license_id(ctx, args.ref)
    ctx.change(reassign_user, license_id=license_id, email=args.email, to=args.to)
    print(f"{args.email}'s seat now belongs to {args.to}")
    return 0
