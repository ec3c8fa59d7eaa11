"""``licentia export``, ``backup`` and ``demo``: events out, a consistent copy, a living example."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TextIO

from licentia.server.cli.context import CliContext, CliError, json_value

EXPORT_PAGE = 5000

# The top-level commands this module registers, with their help lines (see build_parser).
COMMANDS = {
    "export": "export events as CSV or JSON lines",
    "backup": "consistent copy of the SQLite database",
    "demo": "fill a fresh database with a realistic product history",
}


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser], options: argparse.ArgumentParser) -> None:
    p = commands.add_parser("export", parents=[options], help=COMMANDS["export"])
    p.add_argument("--format", choices=["csv", "json"], default="csv")
    p.add_argument("--product", help="only this product's events")
    p.add_argument("--output", "-o")
    p.set_defaults(run=export)

    p = commands.add_parser("backup", parents=[options], help=COMMANDS["backup"])
    p.add_argument("output")
    p.set_defaults(run=backup)

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
    from licentia.server.store.engine import private_output

    # Client facts and customer data: private (0600) from the file's creation.
    with private_output(Path(args.output)) as path, open(path, "w", newline="") as out:
        _export(args, ctx, out)
    return 0


def _export(args: argparse.Namespace, ctx: CliContext, out: TextIO) -> None:
    import json

    from licentia.server.adminapi.events import as_csv, event_page

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


def backup(args: argparse.Namespace, ctx: CliContext) -> int:
    import sqlite3

    from sqlalchemy.engine import make_url

    settings = ctx.settings
    url = make_url(settings.resolved_database_url)
    if url.get_backend_name() != "sqlite":
        raise CliError("backup copies the embedded SQLite database; for PostgreSQL use pg_dump")
    from licentia.server.store.engine import private_output

    # The copy holds everything the database does: private (0600) from its creation.
    with private_output(Path(args.output)) as path:
        source = sqlite3.connect(url.database or "")
        target = sqlite3.connect(path)
        try:
            with target:
                source.backup(target)  # consistent even while the server writes
        finally:
            source.close()
            target.close()
    print(
        f"backup written to {args.output} "
        f"(keep {settings.data_dir / 'secret.key'} with it: it unlocks the signing keys)"
    )
    return 0


def demo(args: argparse.Namespace, ctx: CliContext) -> int:
    import datetime as dt
    import random

    from licentia.server.bootstrap import prepare
    from licentia.server.demo import fill
    from licentia.server.rollups.service import days_between, refresh

    engine = ctx.engine
    ready = prepare(ctx.settings, ctx.clock)
    product = ready.product or "my-app"
    with engine.begin() as conn:
        made = fill(
            conn, product=product, clock=ctx.clock, rng=random.Random(args.seed), count=args.devices, days=args.days
        )
        today = ctx.clock.now().date()
        refresh(conn, days_between(today - dt.timedelta(days=args.days), today))
        ctx.audit(conn, "demo.fill", "product", product, **made)
    print(
        f"demo data for {product}: {made['devices']} devices, {made['events']} events, {made['licenses']} licenses; "
        "rollups computed.\nCreate an admin with `licentia admin create EMAIL`, then `licentia serve` and open /admin."
    )
    return 0
