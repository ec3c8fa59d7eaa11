"""Engines for the configured database, and the migrations that shape it.

SQLite is the embedded default: WAL, ``synchronous=NORMAL``, a busy timeout,
and ``BEGIN IMMEDIATE`` so a writer takes the lock up front instead of failing
when it upgrades from reading (which the busy timeout cannot wait out).
PostgreSQL goes through psycopg 3, whose one driver serves both the async
engine (admin pages, developer API) and the sync writer thread (hot path).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

if TYPE_CHECKING:
    # Imported where migrations run: a server worker never migrates, and alembic
    # (with mako) is a sixth of what a worker imports before it can answer.
    from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"
# Execution option for connections that only read (see _sqlite_setup).
READ_ONLY = "licentia_read_only"


class DatabaseUrlError(ValueError):
    """LICENTIA_DATABASE_URL names a database Licentia does not run on."""


@dataclass(frozen=True)
class DatabaseUrls:
    sync: str
    async_: str

    @property
    def is_sqlite(self) -> bool:
        return self.sync.startswith("sqlite")


def database_urls(url: str) -> DatabaseUrls:
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        if not parsed.database or parsed.database == ":memory:":
            raise DatabaseUrlError("SQLite needs a file path (several connections share it)")
        sync = parsed.set(drivername="sqlite")
        async_ = parsed.set(drivername="sqlite+aiosqlite")
    elif backend == "postgresql":
        sync = async_ = parsed.set(drivername="postgresql+psycopg")
    else:
        raise DatabaseUrlError(f"unsupported database {backend!r}: use sqlite or postgresql")
    return DatabaseUrls(sync.render_as_string(hide_password=False), async_.render_as_string(hide_password=False))


def _sqlite_setup(engine: sa.Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide when transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=15000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        # Readers (execution option ``licentia_read_only``) take no write lock:
        # in WAL mode they see a snapshot and never hold up the status checks.
        read_only = conn.get_execution_options().get(READ_ONLY, False)
        conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


def make_sync_engine(urls: DatabaseUrls, *, pool_size: int = 2) -> sa.Engine:
    if urls.is_sqlite:
        engine = sa.create_engine(urls.sync, poolclass=sa.pool.QueuePool, pool_size=pool_size)
        _sqlite_setup(engine)
        return engine
    return sa.create_engine(urls.sync, pool_size=pool_size, pool_pre_ping=True)


def make_async_engine(urls: DatabaseUrls, *, pool_size: int = 5) -> AsyncEngine:
    if urls.is_sqlite:
        engine = create_async_engine(urls.async_, pool_size=pool_size)
        _sqlite_setup(engine.sync_engine)
        return engine
    return create_async_engine(urls.async_, pool_size=pool_size, pool_pre_ping=True)


def alembic_config(sync_url: str) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", sync_url.replace("%", "%%"))
    return config


def upgrade(urls: DatabaseUrls, revision: str = "head") -> None:
    """Apply migrations up to ``revision`` (idempotent; safe on every start)."""
    if urls.is_sqlite:
        Path(make_url(urls.sync).database or "").parent.mkdir(parents=True, exist_ok=True)
    from alembic import command

    command.upgrade(alembic_config(urls.sync), revision)


def current_revision(urls: DatabaseUrls) -> str | None:
    from alembic.runtime.migration import MigrationContext

    engine = make_sync_engine(urls, pool_size=1)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()
