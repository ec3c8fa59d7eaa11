"""``licentia admin`` (accounts of the admin UI, API tokens) and ``licentia rollup`` (dashboard summaries)."""

from __future__ import annotations

import argparse
import sys

from licentia.server.cli.context import CliContext, CliError

# ``typing`` itself costs the CLI's start a tenth: names for the type checker only.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

ROLES = ("owner", "staff", "viewer")  # admin.roles.Role, spelled out so the parser loads no server module
# The top-level commands this module registers, with their help lines (see build_parser).
COMMANDS = {
    "admin": "admin accounts of the web UI (roles, second factor), and API tokens",
    "rollup": "recompute the dashboard's daily rollups",
}


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser], options: argparse.ArgumentParser) -> None:
    group = commands.add_parser("admin", parents=[options], help=COMMANDS["admin"])
    actions = group.add_subparsers(dest="action", required=True, metavar="ACTION")
    for action, doc in (("create", "a new admin account"), ("password", "change an admin's password")):
        p = actions.add_parser(action, parents=[options], help=doc)
        p.add_argument("email", help="admin email")
        p.add_argument("--password-stdin", action="store_true", help="read the password from the first line of stdin")
        if action == "create":
            p.add_argument("--role", choices=ROLES, default="owner", help="owner (default), staff or viewer")
        p.set_defaults(run=create_admin if action == "create" else change_password)
    p = actions.add_parser("list", parents=[options], help="the admins, their roles and second factors")
    p.set_defaults(run=list_admins)
    p = actions.add_parser("role", parents=[options], help="change an admin's role (one owner always stays)")
    p.add_argument("email")
    p.add_argument("role", choices=ROLES)
    p.set_defaults(run=change_role)
    p = actions.add_parser("reset-totp", parents=[options], help="remove an admin's second factor (a lost phone)")
    p.add_argument("email")
    p.set_defaults(run=reset_totp)
    for action, doc in (("disable", "stop an admin signing in"), ("enable", "let a disabled admin sign in again")):
        p = actions.add_parser(action, parents=[options], help=doc)
        p.add_argument("email")
        p.set_defaults(run=set_admin_active, active=action == "enable")
    p = actions.add_parser("token", parents=[options], help="a new API token for the developer API (printed once)")
    p.add_argument("--name", required=True, help="a name saying who uses it")
    p.add_argument("--scope", action="append", choices=["read", "write"], help="token scope (repeatable)")
    p.set_defaults(run=create_token)
    p = actions.add_parser("revoke-token", parents=[options], help="revoke an API token")
    p.add_argument("--token-id", type=int, required=True)
    p.add_argument("--reason", help="why (a leaked token, a retired integration): kept in the audit log")
    p.set_defaults(run=revoke_token)

    p = commands.add_parser("rollup", parents=[options], help=COMMANDS["rollup"])
    p.add_argument("--days", type=int, default=2, help="recompute the last N days (default 2)")
    p.add_argument("--all", action="store_true", help="recompute every day since the first device")
    p.set_defaults(run=rollup)


def _read_password(args: argparse.Namespace) -> str:
    import getpass

    # Never a command-line argument: those end up in shell history and `ps`.
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    password = getpass.getpass("Password: ")
    if getpass.getpass("Again: ") != password:
        raise CliError("the passwords differ")
    return password


def create_admin(args: argparse.Namespace, ctx: CliContext) -> int:
    from licentia.server.auth.accounts import create_admin as create

    ctx.change(create, email=args.email, password=_read_password(args), role=args.role)
    print(f"admin {args.email.strip().lower()} ({args.role}) created; sign in at /admin")
    return 0


def list_admins(args: argparse.Namespace, ctx: CliContext) -> int:
    from licentia.server.auth.team import list_admins as admins

    found = ctx.read(admins)
    for a in found:
        state = "active" if a.active else "disabled"
        factor = f"two-step on ({a.recovery_codes_left} recovery codes)" if a.second_factor else "two-step off"
        print(f"{a.email}  {a.role}  {state}  {factor}")
    if not found:
        print("no admins; create one with: licentia admin create EMAIL")
    return 0


def _change_admin(ctx: CliContext, email: str, change: Any, **options: Any) -> str:
    """Run an admin change (``admin.team``, ``admin.second_factor``) on the admin named by ``email``."""
    from licentia.server.auth.team import admin_by_email

    with ctx.engine.begin() as conn:
        row = admin_by_email(conn, email)
        change(conn, user_id=row.id, actor=ctx.actor, now=ctx.clock.now(), **options)
    return str(row.email)


def change_role(args: argparse.Namespace, ctx: CliContext) -> int:
    from licentia.server.auth.team import set_role

    print(f"{_change_admin(ctx, args.email, set_role, role=args.role)} is now {args.role}")
    return 0


def reset_totp(args: argparse.Namespace, ctx: CliContext) -> int:
    from licentia.server.auth.second_factor import turn_off

    print(f"second factor of {_change_admin(ctx, args.email, turn_off)} removed; their sessions were closed")
    return 0


def set_admin_active(args: argparse.Namespace, ctx: CliContext) -> int:
    from licentia.server.auth.team import set_active

    email = _change_admin(ctx, args.email, set_active, active=args.active)
    print(f"{email} {'enabled' if args.active else 'disabled'}")
    return 0


def change_password(args: argparse.Namespace, ctx: CliContext) -> int:
    from licentia.server.auth.accounts import set_password

    ctx.change(set_password, email=args.email, password=_read_password(args))
    print(f"password of {args.email} changed; its sessions were closed")
    return 0


def create_token(args: argparse.Namespace, ctx: CliContext) -> int:
    from licentia.server.audit import AuditAction
    from licentia.server.auth.tokens import create_token as create

    scopes = args.scope or ["read"]
    with ctx.engine.begin() as conn:
        made = create(conn, name=args.name, scopes=scopes, now=ctx.clock.now(), created_by=ctx.actor)
        ctx.audit(conn, AuditAction.TOKEN_CREATE, made.id, name=args.name, scopes=scopes)
    print(made.token)
    return 0


def revoke_token(args: argparse.Namespace, ctx: CliContext) -> int:
    from licentia.server.audit import AuditAction
    from licentia.server.auth.tokens import revoke_token as revoke

    with ctx.engine.begin() as conn:
        revoke(conn, token_id=args.token_id, now=ctx.clock.now())
        ctx.audit(conn, AuditAction.TOKEN_REVOKE, args.token_id, reason=args.reason)
    print(f"token {args.token_id} revoked")
    return 0


def rollup(args: argparse.Namespace, ctx: CliContext) -> int:
    import datetime as dt

    from licentia.server.rollups.service import days_between, first_activity, refresh

    now = ctx.clock.now()
    today = now.date()
    with ctx.engine.begin() as conn:
        recent = today - dt.timedelta(days=max(args.days, 1) - 1)
        first = (first_activity(conn) or today) if args.all else recent
        written = refresh(conn, days_between(first, today), now=now)
    print(f"rollups recomputed for {first} .. {today}: {written} rows")
    return 0
