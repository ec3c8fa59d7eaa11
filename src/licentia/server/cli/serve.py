"""``licentia serve``, ``init`` and ``migrate``: start the server, prepare a data directory, apply migrations."""

from __future__ import annotations

import argparse
import os
import sys

from licentia.server.cli.context import CliContext

# The top-level commands this module registers, with their help lines (see build_parser).
COMMANDS = {
    "serve": "start the server (migrates and bootstraps first)",
    "init": "create the data directory, database and first product",
    "migrate": "apply database migrations",
}


WORKER_HEALTHCHECK_SECONDS = 120


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser], options: argparse.ArgumentParser) -> None:
    p = commands.add_parser("serve", parents=[options], help=COMMANDS["serve"])
    p.add_argument("--host")
    p.add_argument("--port", type=int)
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--access-log", action="store_true")
    p.set_defaults(run=serve)
    p = commands.add_parser("init", parents=[options], help=COMMANDS["init"])
    p.set_defaults(run=init)
    p = commands.add_parser("migrate", parents=[options], help=COMMANDS["migrate"])
    p.add_argument("--revision", default="head")
    p.set_defaults(run=migrate)


def serve(args: argparse.Namespace, ctx: CliContext) -> int:
    import uvicorn

    from licentia.server.bootstrap import prepare, snippets
    from licentia.server.observability import log_config, prepare_multiprocess_metrics

    settings = ctx.settings
    if args.host:
        settings.host = args.host
    if args.port:
        settings.port = args.port
    ready = prepare(settings, ctx.clock)
    base = settings.base_url
    print(f"Licentia {version()} serving at {base}  (API docs: {base}/docs)")
    print(f"Data: {settings.data_dir.resolve()}  database: {_safe_url(settings.resolved_database_url)}")
    if ready.product:
        print(f"Product: {ready.product}   public key: {ready.public_key_path}")
        print("Protect your application with five lines, in the language it is written in:\n")
        for lines in snippets(base, ready.product, ready.public_key or ""):
            print(f"  {lines.language} ({lines.install}; {lines.guide}):\n")
            print("    " + lines.code.replace("\n", "\n    ") + "\n")
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
        # uvicorn kills a worker that has not answered its supervisor's ping in 5 s: on a
        # busy host a worker still starting up misses that, is replaced by one just as slow,
        # and the server never settles. A worker that is really hung is still replaced.
        timeout_worker_healthcheck=WORKER_HEALTHCHECK_SECONDS,
    )
    return 0


def init(args: argparse.Namespace, ctx: CliContext) -> int:
    from licentia.server.bootstrap import prepare

    ready = prepare(ctx.settings, ctx.clock)
    print(f"Ready: {ctx.settings.data_dir.resolve()} (product {ready.product}, public key {ready.public_key_path})")
    return 0


def migrate(args: argparse.Namespace, ctx: CliContext) -> int:
    from licentia.server.store.engine import current_revision, database_urls, upgrade

    urls = database_urls(ctx.settings.resolved_database_url)
    upgrade(urls, args.revision)
    print(f"database at revision {current_revision(urls)}")
    return 0


def version() -> str:
    import licentia

    return licentia.__version__


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)
