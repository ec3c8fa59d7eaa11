"""``licentia export``, ``backup``, ``restore`` and ``demo``: events out, sealed backups in and out, an example."""

from __future__ import annotations

import argparse
import sys

from licentia.server.cli.context import CliContext, CliError, json_value

TYPE_CHECKING = False  # typing is not imported: see cli/context.py
if TYPE_CHECKING:
    from typing import Any, TextIO

EXPORT_PAGE = 5000

# The top-level commands this module registers, with their help lines (see build_parser).
COMMANDS = {
    "export": "export events as CSV or JSON lines, or Hitek's tab-delimited table",
    "backup": "sealed backup of the database and the secret key (SQLite or PostgreSQL)",
    "restore": "put a sealed backup back in place, then apply newer migrations",
    "demo": "fill a fresh database with a realistic product history",
}


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser], options: argparse.ArgumentParser) -> None:
    p = commands.add_parser("export", parents=[options], help=COMMANDS["export"])
    p.add_argument(
        "--format", choices=["csv", "json", "hitek"], default="csv", help="hitek: 50 tab-delimited columns per post"
    )
    p.add_argument("--product", help="only this product's events")
    p.add_argument("--output", "-o")
    p.set_defaults(run=export)

    p = commands.add_parser("backup", parents=[options], help=COMMANDS["backup"])
    p.add_argument("output")
    p.add_argument("--passphrase-file", help="read the passphrase from this file (else LICENTIA_BACKUP_PASSPHRASE)")
    p.set_defaults(run=backup)

    p = commands.add_parser("restore", parents=[options], help=COMMANDS["restore"])
    p.add_argument("backup")
    p.add_argument("--passphrase-file", help="read the passphrase from this file (else LICENTIA_BACKUP_PASSPHRASE)")
    p.add_argument("--force", action="store_true", help="replace an existing database and secret key")
    p.set_defaults(run=restore)

    p = commands.add_parser("demo", parents=[options], help=COMMANDS["demo"])
    p.add_argument("--devices", type=int, default=3000)
    p.add_argument("--days", type=int, default=90)
    p.add_argument("--seed", type=int, default=7)
    p.set_defaults(run=demo)


def export(args: argparse.Namespace, ctx: CliContext) -> int:
    """Every event, page by page, in the developer API's export format."""
    if not args.output:
        _export(args, ctx, sys.stdout)
        return 0
    from pathlib import Path

    from licentia.server.store.engine import private_output

    # Client facts and customer data: private (0600) from the file's creation.
    with private_output(Path(args.output)) as path, open(path, "w", newline="") as out:
        _export(args, ctx, out)
    return 0


def _export(args: argparse.Namespace, ctx: CliContext, out: TextIO) -> None:
    import json

    if args.format == "hitek":
        from licentia.server.evidence.hitek import hitek_lines

        def read(fn: Any, **kwargs: Any) -> Any:
            with ctx.engine.connect() as conn:
                return fn(conn, **kwargs)

        out.writelines(hitek_lines(read, product=args.product))
        return

    from licentia.server.events.export import as_csv, event_page

    cursor, first = None, True
    while True:
        with ctx.engine.connect() as conn:
            rows, cursor = event_page(
                conn, product=args.product, kind=None, device_id=None, license_id=None,
                since=None, until=None, cursor=cursor, limit=EXPORT_PAGE,
            )  # fmt: skip
        if args.format == "csv":
            out.write(as_csv(rows, header=first))
        else:
            out.writelines(json.dumps(row, default=json_value) + "\n" for row in rows)
        first = False
        if cursor is None:
            return


def _passphrase(args: argparse.Namespace, *, confirm: bool) -> str:
    """From --passphrase-file, LICENTIA_BACKUP_PASSPHRASE, or asked at the terminal; never from argv."""
    import os

    if args.passphrase_file:
        try:
            with open(args.passphrase_file) as handle:
                return handle.read().strip("\r\n")
        except OSError as exc:
            raise CliError(f"cannot read {args.passphrase_file}: {exc.strerror}") from exc
    if os.environ.get("LICENTIA_BACKUP_PASSPHRASE"):
        return os.environ["LICENTIA_BACKUP_PASSPHRASE"]
    if not sys.stdin.isatty():
        raise CliError("a backup is sealed with a passphrase: --passphrase-file or LICENTIA_BACKUP_PASSPHRASE")
    import getpass

    passphrase = getpass.getpass("Backup passphrase: ")
    if confirm and getpass.getpass("Again: ") != passphrase:
        raise CliError("the two passphrases differ")
    return passphrase


def backup(args: argparse.Namespace, ctx: CliContext) -> int:
    from pathlib import Path

    from licentia.server.backup import BackupError, write_backup

    try:
        made = write_backup(ctx.settings, Path(args.output), _passphrase(args, confirm=True), now=ctx.clock.now())
    except BackupError as exc:
        raise CliError(str(exc)) from exc
    print(
        f"sealed backup of the {made.database} database (migration {made.revision}) and the secret key written to"
        f" {args.output}; keep the passphrase apart from it"
    )
    return 0


def restore(args: argparse.Namespace, ctx: CliContext) -> int:
    from pathlib import Path

    from licentia.server.backup import BackupError, restore_backup

    try:
        made = restore_backup(
            ctx.settings,
            Path(args.backup),
            _passphrase(args, confirm=False),
            force=args.force,
            actor=ctx.actor,
            now=ctx.clock.now(),
        )
    except BackupError as exc:
        raise CliError(str(exc)) from exc
    print(f"restored the {made.database} database of {made.created_at} and its secret key; migrations applied")
    return 0


def demo(args: argparse.Namespace, ctx: CliContext) -> int:
    import datetime as dt
    import random

    from licentia.server.audit import AuditAction
    from licentia.server.bootstrap import prepare
    from licentia.server.demo import fill
    from licentia.server.rollups.service import days_between, refresh

    engine = ctx.engine
    ready = prepare(ctx.settings, ctx.clock)
    product = ready.product or "my-app"
    with engine.begin() as conn:
        made = fill(
            conn,
            product=product,
            clock=ctx.clock,
            rng=random.Random(args.seed),
            count=args.devices,
            days=args.days,
            fernet=ctx.settings.fernet(),
        )
        now = ctx.clock.now()
        refresh(conn, days_between(now.date() - dt.timedelta(days=args.days), now.date()), now=now)
        ctx.audit(conn, AuditAction.DEMO_FILL, product, **made)
    print(
        f"demo data for {product}: {made['devices']} devices, {made['events']} events, {made['licenses']} licenses; "
        "rollups computed.\nCreate an admin with `licentia admin create EMAIL`, then `licentia serve` and open /admin."
    )
    return 0
