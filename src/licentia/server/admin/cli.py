"""``licentia admin`` (accounts, API tokens) and ``licentia rollup`` (dashboard summaries)."""

from __future__ import annotations

import argparse
import datetime as dt
import getpass
import sys
from typing import Any


def _read_password(args: argparse.Namespace) -> str:
    # Never a command-line argument: those end up in shell history and `ps`.
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = getpass.getpass("Password: ")
        if getpass.getpass("Again: ") != password:
            raise ValueError("the passwords differ")
    return password


def cmd_admin(args: argparse.Namespace) -> int:
    from licentia.cli import CliError, audit, connect
    from licentia.core.clock import SystemClock
    from licentia.server.admin.accounts import create_admin, set_password
    from licentia.server.auth.tokens import create_token, revoke_token

    now = SystemClock().now()
    actor = "cli:" + (getpass.getuser() or "unknown")
    if args.action in ("create", "password") and not args.email:
        raise CliError(f"admin {args.action} needs an email")
    password = _read_password(args) if args.action in ("create", "password") else ""
    _, engine = connect(args)
    with engine.begin() as conn:
        if args.action == "create":
            create_admin(conn, email=args.email, password=password, actor=actor, now=now)
            print(f"admin {args.email.strip().lower()} created; sign in at /admin")
        elif args.action == "password":
            set_password(conn, email=args.email, password=password, actor=actor, now=now)
            print(f"password of {args.email} changed; its sessions were closed")
        elif args.action == "token":
            if not args.name:
                raise CliError("admin token needs --name")
            made = create_token(conn, name=args.name, scopes=args.scope or ["read"], now=now, created_by=actor)
            audit(conn, "token.create", "api_token", made.id, name=args.name, scopes=args.scope or ["read"])
            print(made.token)
        elif args.action == "revoke-token":
            if args.token_id is None:
                raise CliError("admin revoke-token needs --token-id")
            revoke_token(conn, token_id=args.token_id, now=now)
            audit(conn, "token.revoke", "api_token", args.token_id)
            print(f"token {args.token_id} revoked")
    return 0


def cmd_rollup(args: argparse.Namespace) -> int:
    from licentia.cli import connect
    from licentia.core.clock import SystemClock
    from licentia.server.rollups.service import days_between, first_activity, refresh

    today = SystemClock().now().date()
    _, engine = connect(args)
    with engine.begin() as conn:
        recent = today - dt.timedelta(days=max(args.days, 1) - 1)
        first = (first_activity(conn) or today) if args.all else recent
        written = refresh(conn, days_between(first, today))
    print(f"rollups recomputed for {first} .. {today}: {written} rows")
    return 0


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("admin", parents=[common], help="admin accounts of the web UI, and API tokens")
    p.add_argument("action", choices=["create", "password", "token", "revoke-token"])
    p.add_argument("email", nargs="?", help="admin email (create, password)")
    p.add_argument("--password-stdin", action="store_true", help="read the password from the first line of stdin")
    p.add_argument("--name", help="token: a name saying who uses it")
    p.add_argument("--scope", action="append", choices=["read", "write"], help="token scope (repeatable)")
    p.add_argument("--token-id", type=int)
    p.set_defaults(func=cmd_admin)

    p = sub.add_parser("rollup", parents=[common], help="recompute the dashboard's daily rollups")
    p.add_argument("--days", type=int, default=2, help="recompute the last N days (default 2)")
    p.add_argument("--all", action="store_true", help="recompute every day since the first device")
    p.set_defaults(func=cmd_rollup)
