"""``licentia``: run and operate the server.

Every command prints a one-line error and exits non-zero on bad input; no
traceback reaches the user (``LICENTIA_DEBUG=1`` shows one).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

EXIT_ERROR = 1
EXIT_USAGE = 2
Handler = Callable[[argparse.Namespace], int]
_engines: list[Any] = []


class CliError(Exception):
    """A problem to tell the user in one line."""


def _date(text: str) -> dt.datetime:
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (use YYYY-MM-DD)") from exc
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _settings(args: argparse.Namespace) -> Any:
    from licentia.server.settings import load_settings

    return load_settings(data_dir=getattr(args, "data_dir", None), database_url=getattr(args, "database_url", None))


def connect(args: argparse.Namespace) -> Any:
    """A sync engine on a migrated database (commands run migrations first, like serve)."""
    from licentia.server.store.engine import database_urls, make_sync_engine, upgrade

    settings = _settings(args)
    urls = database_urls(settings.resolved_database_url)
    upgrade(urls)
    engine = make_sync_engine(urls, pool_size=1)
    _engines.append(engine)  # disposed when the command ends (see main)
    return settings, engine


def audit(conn: Any, action: str, target_type: str, target_id: Any, **details: Any) -> None:
    from licentia.core.clock import SystemClock
    from licentia.server.audit import record

    actor = "cli:" + (os.environ.get("USER") or os.environ.get("LOGNAME") or "unknown")
    record(
        conn,
        actor=actor,
        action=action,
        target_type=target_type,
        target_id=target_id,
        now=SystemClock().now(),
        **details,
    )


# -- serve / init / migrate ---------------------------------------------------


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from licentia.core.clock import SystemClock
    from licentia.server.bootstrap import prepare, snippet
    from licentia.server.observability import log_config, prepare_multiprocess_metrics

    settings = _settings(args)
    if args.host:
        settings.host = args.host
    if args.port:
        settings.port = args.port
    ready = prepare(settings, SystemClock())
    base = settings.base_url
    print(f"Licentia {_version()} serving at {base}  (API docs: {base}/docs)")
    print(f"Data: {settings.data_dir.resolve()}  database: {_safe_url(settings.resolved_database_url)}")
    if ready.product:
        print(f"Product: {ready.product}   public key: {ready.public_key_path}")
        print("Protect your application with:\n")
        print("    " + snippet(base, ready.product, ready.public_key or "").replace("\n", "\n    ") + "\n")
    sys.stdout.flush()
    # Workers are separate processes: hand them the settings through the environment.
    os.environ["LICENTIA_DATA_DIR"] = str(settings.data_dir.resolve())
    os.environ["LICENTIA_DATABASE_URL"] = settings.resolved_database_url
    os.environ["LICENTIA_HOST"] = settings.host
    os.environ["LICENTIA_PORT"] = str(settings.port)
    if args.workers > 1:
        prepare_multiprocess_metrics(settings.data_dir)
    uvicorn.run(
        "licentia.server.asgi:create_from_env",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=args.workers,
        log_level=settings.log_level,
        log_config=log_config(settings.log_format, settings.log_level),
        access_log=args.access_log,
        proxy_headers=False,
    )
    return 0


def cmd_init(args: argparse.Namespace) -> int:
    from licentia.core.clock import SystemClock
    from licentia.server.bootstrap import prepare

    settings = _settings(args)
    ready = prepare(settings, SystemClock())
    print(f"Ready: {settings.data_dir.resolve()} (product {ready.product}, public key {ready.public_key_path})")
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    from licentia.server.store.engine import current_revision, database_urls, upgrade

    urls = database_urls(_settings(args).resolved_database_url)
    upgrade(urls, args.revision)
    print(f"database at revision {current_revision(urls)}")
    return 0


# -- product / keys -------------------------------------------------------------


def cmd_product(args: argparse.Namespace) -> int:
    if args.action == "facts":
        from licentia.server.evidence.cli import cmd_product_facts

        return cmd_product_facts(args)
    import sqlalchemy as sa

    from licentia.core.clock import SystemClock
    from licentia.server.bootstrap import write_public_key
    from licentia.server.products.changes import change_policy
    from licentia.server.products.service import create_product, get_product, public_keys
    from licentia.server.store.models import Policy, Product, table_of

    settings, engine = connect(args)
    with engine.begin() as conn:
        if args.action == "create":
            made = create_product(
                conn,
                slug=args.slug,
                name=args.name or args.slug,
                fernet=settings.fernet(),
                now=SystemClock().now(),
            )
            audit(conn, "product.create", "product", made.id, slug=made.slug)
            path = write_public_key(settings, made.slug, made.public_key)
            print(f"created product {made.slug}; public key {made.public_key} (saved to {path})")
        elif args.action == "list":
            for row in conn.execute(sa.select(table_of(Product)).order_by(table_of(Product).c.slug)):
                print(f"{row.slug}\t{row.name}")
        elif args.action == "show":
            product = get_product(conn, args.slug)
            policy = conn.execute(sa.select(table_of(Policy)).where(table_of(Policy).c.product_id == product.id)).one()
            shown = {k: v for k, v in policy._mapping.items() if k not in ("id", "product_id")}
            print(
                json.dumps(
                    {
                        "slug": product.slug,
                        "name": product.name,
                        "collect_facts": product.collect_facts,
                        "policy": shown,
                        "public_keys": public_keys(conn, product.id),
                    },
                    indent=2,
                )
            )
        elif args.action == "policy":
            product = get_product(conn, args.slug)
            values = {}
            for item in args.set or []:
                name, sep, raw = item.partition("=")
                if not sep:
                    raise CliError(f"--set takes NAME=VALUE, got {item!r}")
                values[name] = _policy_value(raw)
            change_policy(conn, product_id=product.id, values=values, actor=_actor(), now=SystemClock().now())
            print(f"policy of {product.slug} updated: {values}")
    return 0


def _policy_value(raw: str) -> Any:
    lowered = raw.strip().lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered in ("none", "null", ""):
        return None
    try:
        return int(raw)
    except ValueError:
        return raw.strip()


def cmd_keys(args: argparse.Namespace) -> int:
    from licentia.core.clock import SystemClock
    from licentia.server.bootstrap import write_public_key
    from licentia.server.products.service import get_product, public_keys, rotate_key

    settings, engine = connect(args)
    with engine.begin() as conn:
        if args.action == "rotate":
            new = rotate_key(conn, slug=args.product, fernet=settings.fernet(), now=SystemClock().now())
            audit(conn, "keys.rotate", "product", args.product, kid=new.kid)
            print(f"new signing key {new.kid} for {args.product}; documents signed by older keys still verify")
        else:
            product = get_product(conn, args.product)
            keys = public_keys(conn, product.id)
            write_public_key(settings, product.slug, keys[0])
            for key in keys:
                print(key)
    return 0


# -- license / device -------------------------------------------------------------


def _actor() -> str:
    return "cli:" + (os.environ.get("USER") or os.environ.get("LOGNAME") or "unknown")


def cmd_license(args: argparse.Namespace) -> int:
    from licentia.core.clock import SystemClock
    from licentia.server.licenses.changes import change_state, issue_and_email
    from licentia.server.licenses.service import find_license_by_prefix

    now = SystemClock().now()
    _, engine = connect(args)
    with engine.begin() as conn:
        if args.action == "issue":
            issued = issue_and_email(
                conn,
                product=args.product,
                email=args.email,
                actor=_actor(),
                now=now,
                send_email=args.send_email,
                name=args.name,
                max_devices=args.max_devices,
                expires_at=args.expires,
                features=args.feature,
                order_ref=args.order,
                source="cli",
            )
            print(issued.key)
        elif args.action == "list":
            for row in find_license_by_prefix(conn, args.prefix or ""):
                expiry = row.expires_at.date().isoformat() if row.expires_at else "never"
                print(f"{row.id}\t{row.key_prefix}\t{row.state}\texpires {expiry}")
        else:
            state = change_state(conn, license_id=args.id, action=args.action, actor=_actor(), now=now)
            print(f"license {args.id} is now {state}")
    return 0


def cmd_device(args: argparse.Namespace) -> int:
    import sqlalchemy as sa

    from licentia.core.clock import SystemClock
    from licentia.server.devices.changes import extend_trial, get_device, set_device_status
    from licentia.server.store.models import Device, table_of

    devices = table_of(Device)
    now = SystemClock().now()
    _, engine = connect(args)
    with engine.begin() as conn:
        if args.action == "list":
            query = sa.select(devices).order_by(devices.c.last_seen.desc()).limit(args.limit)
            for row in conn.execute(query):
                print(f"{row.id}\t{row.status}\t{row.app_version or '-'}\t{row.last_seen:%Y-%m-%d %H:%M}")
        elif args.action == "show":
            row = get_device(conn, args.id)
            shown = {k: v for k, v in row._mapping.items() if not k.endswith("_hash")}
            print(
                json.dumps(
                    {k: (v.isoformat() if isinstance(v, dt.datetime) else v) for k, v in shown.items()}, indent=2
                )
            )
        elif args.action == "set-status":
            set_device_status(
                conn, device_id=args.id, status=args.status, actor=_actor(), now=now, reason="set by vendor"
            )
            machine = get_device(conn, args.id).machine_id
            print(f"machine {machine} of device {args.id} (and every installation on it) is now {args.status}")
        elif args.action == "extend-trial":
            end = extend_trial(conn, device_id=args.id, days=args.days, actor=_actor(), now=now)
            machine = get_device(conn, args.id).machine_id
            print(f"trial of machine {machine} (every installation on it) now ends {end:%Y-%m-%d %H:%M} UTC")
    return 0


# -- export / backup --------------------------------------------------------------


def cmd_export(args: argparse.Namespace) -> int:
    """Every event, page by page, in the developer API's export format."""
    from licentia.server.adminapi.events import as_csv, event_page

    _, engine = connect(args)
    out = open(args.output, "w", newline="") if args.output else sys.stdout  # noqa: SIM115
    try:
        cursor, first = None, True
        while True:
            with engine.connect() as conn:
                rows, cursor = event_page(
                    conn, product=args.product, kind=None, device_id=None, license_id=None,
                    since=None, until=None, cursor=cursor, limit=5000,
                )  # fmt: skip
            if args.format == "csv":
                out.write(as_csv(rows, header=first))
            else:
                out.writelines(json.dumps(row, default=_iso) + "\n" for row in rows)
            first = False
            if cursor is None:
                return 0
    finally:
        if args.output:
            out.close()


def _iso(value: Any) -> str:
    if isinstance(value, dt.datetime):
        return value.isoformat()
    raise TypeError(type(value).__name__)


def cmd_backup(args: argparse.Namespace) -> int:
    import sqlite3

    from sqlalchemy.engine import make_url

    settings = _settings(args)
    url = make_url(settings.resolved_database_url)
    if url.get_backend_name() != "sqlite":
        raise CliError("backup copies the embedded SQLite database; for PostgreSQL use pg_dump")
    source = sqlite3.connect(url.database or "")
    target = sqlite3.connect(args.output)
    with target:
        source.backup(target)  # consistent even while the server writes
    source.close()
    target.close()
    print(
        f"backup written to {args.output} "
        f"(keep {settings.data_dir / 'secret.key'} with it: it unlocks the signing keys)"
    )
    return 0


# -- parser -----------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="licentia", description="Run and operate a Licentia server.")
    parser.add_argument("--version", action="version", version=f"licentia {_version()}")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--data-dir", help="data directory (default ./licentia-data or LICENTIA_DATA_DIR)")
    common.add_argument("--database-url", help="database URL (default SQLite in the data directory)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("serve", parents=[common], help="start the server (migrates and bootstraps first)")
    p.add_argument("--host")
    p.add_argument("--port", type=int)
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--access-log", action="store_true")
    p.set_defaults(func=cmd_serve)
    sub.add_parser("init", parents=[common], help="create the data directory, database and first product").set_defaults(
        func=cmd_init
    )
    p = sub.add_parser("migrate", parents=[common], help="apply database migrations")
    p.add_argument("--revision", default="head")
    p.set_defaults(func=cmd_migrate)

    p = sub.add_parser("product", parents=[common], help="create, list, show products; edit policies and privacy")
    p.add_argument("action", choices=["create", "list", "show", "policy", "facts"])
    p.add_argument("slug", nargs="?")
    p.add_argument("--name")
    p.add_argument("--set", action="append", metavar="NAME=VALUE", help="policy setting (repeatable)")
    facts = p.add_mutually_exclusive_group()
    facts.add_argument("--enable", action="store_true", help="facts: collect client facts for this product")
    facts.add_argument("--disable", action="store_true", help="facts: stop collecting client facts")
    p.add_argument("--retention-days", type=int, help="facts: delete facts older than this many days")
    p.set_defaults(func=cmd_product, needs_slug=("create", "show", "policy", "facts"))

    p = sub.add_parser("keys", parents=[common], help="show or rotate a product's signing keys")
    p.add_argument("action", choices=["rotate", "show"])
    p.add_argument("--product", required=True)
    p.set_defaults(func=cmd_keys)

    p = sub.add_parser("license", parents=[common], help="issue, list, suspend, revoke, reinstate licenses")
    p.add_argument("action", choices=["issue", "list", "suspend", "revoke", "reinstate"])
    p.add_argument("id", nargs="?", type=int, help="license id (suspend/revoke/reinstate)")
    p.add_argument("--product")
    p.add_argument("--email")
    p.add_argument("--name")
    p.add_argument("--max-devices", type=int)
    p.add_argument("--expires", type=_date, help="expiry date, YYYY-MM-DD")
    p.add_argument("--feature", action="append", help="feature flag (repeatable)")
    p.add_argument("--order", help="order reference of the purchase")
    p.add_argument("--send-email", action="store_true", help="email the key to the customer (through the outbox)")
    p.add_argument("--prefix", help="list: key prefix to search")
    p.set_defaults(func=cmd_license)

    p = sub.add_parser("device", parents=[common], help="list, show, change status, extend trial")
    p.add_argument("action", choices=["list", "show", "set-status", "extend-trial"])
    p.add_argument("id", nargs="?")
    p.add_argument("--status", choices=["trial", "trial_expired", "registered", "suspended", "blocked"])
    p.add_argument("--days", type=int, default=14)
    p.add_argument("--limit", type=int, default=50)
    p.set_defaults(func=cmd_device)

    p = sub.add_parser("export", parents=[common], help="export events as CSV or JSON lines")
    p.add_argument("--format", choices=["csv", "json"], default="csv")
    p.add_argument("--product", help="only this product's events")
    p.add_argument("--output", "-o")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("backup", parents=[common], help="consistent copy of the SQLite database")
    p.add_argument("output")
    p.set_defaults(func=cmd_backup)

    for module_name in (
        "licentia.server.admin.cli",
        "licentia.server.evidence.cli",
        "licentia.server.notify.cli",
        "licentia.server.payments.cli",
        "licentia.server.demo",
    ):
        try:
            module = __import__(module_name, fromlist=["register"])
        except ModuleNotFoundError as exc:
            if exc.name is not None and module_name.startswith(exc.name):
                continue
            raise
        module.register(sub, common)
    return parser


def _check_args(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    if args.command == "product" and args.action in args.needs_slug and not args.slug:
        parser.error(f"product {args.action} needs a product slug")
    if args.command == "license":
        if args.action == "issue" and not (args.product and args.email):
            parser.error("license issue needs --product and --email")
        if args.action in ("suspend", "revoke", "reinstate") and args.id is None:
            parser.error(f"license {args.action} needs a license id")
    if args.command == "device" and args.action != "list" and not args.id:
        parser.error(f"device {args.action} needs a device id")
    if args.command == "device" and args.action == "set-status" and not args.status:
        parser.error("device set-status needs --status")


def _version() -> str:
    import licentia

    return licentia.__version__


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    _check_args(parser, args)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        if os.environ.get("LICENTIA_DEBUG"):
            raise
        print(f"licentia: error: {_describe(exc)}", file=sys.stderr)
        return EXIT_ERROR
    finally:
        while _engines:
            _engines.pop().dispose()


def _describe(exc: Exception) -> str:
    from pydantic import ValidationError

    if isinstance(exc, ValidationError):
        first = exc.errors()[0]
        return f"bad setting {'.'.join(str(p) for p in first['loc'])}: {first['msg']}"
    message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    if type(exc).__module__.startswith("sqlalchemy"):
        orig = getattr(exc, "orig", None)
        message = f"database error: {type(orig or exc).__name__}: {str(orig or exc).splitlines()[0]}"
    return message


if __name__ == "__main__":
    sys.exit(main())
