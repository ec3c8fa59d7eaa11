"""Engines for the configured database, and the migrations that shape it.

SQLite is the embedded default: WAL, ``synchronous=NORMAL``, a busy timeout,
and ``BEGIN IMMEDIATE`` so a writer takes the lock up front instead of failing
when it upgrades from reading (which the busy timeout cannot wait out).
PostgreSQL goes through psycopg 3, whose asyncio connection serves both the
async engine (admin pages, developer API) and the writer (hot path, see
``store.writer``); the CLI and background threads (rollups, backups) use sync engines.

Files holding data are private to the server's user from the moment they
exist (threat: any local account reading every customer, event and queued
email). SQLite would create the database 0644 (less the umask); Licentia
creates it first, empty and 0600, and SQLite gives its ``-wal`` and ``-shm``
files the database file's mode. Backups and exports are written to a 0600
temporary file that replaces the target (:func:`private_output`).
"""

from __future__ import annotations

import contextlib
import logging
import os
import stat
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.util.concurrency import in_greenlet

if TYPE_CHECKING:
    # Imported where migrations run: a server worker never migrates, and alembic
    # (with mako) is a sixth of what a worker imports before it can answer.
    from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"
# Execution option for connections that only read (see _sqlite_setup).
READ_ONLY = "licentia_read_only"
PRIVATE_FILE_MODE = 0o600
PRIVATE_DIR_MODE = 0o700
log = logging.getLogger("licentia.store")


def create_private(path: Path) -> bool:
    """Create ``path`` empty and 0600 unless it exists; True when it was created.

    The mode is given to ``open`` itself, so the file is never readable by others,
    not even between its creation and a later chmod.
    """
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE)
    except FileExistsError:
        return False
    os.close(fd)
    return True


def make_private_database(path: Path) -> None:
    """Create the SQLite file 0600 before SQLite does; narrow an existing one readable by others."""
    if create_private(path):
        return
    for part in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        try:
            mode = stat.S_IMODE(part.stat().st_mode)
        except FileNotFoundError:
            continue
        if mode & 0o077:
            # A database made by an older version: narrowed once, and said so.
            log.warning("%s was readable by other accounts (%o); narrowing it to 0600", part, mode)
            part.chmod(PRIVATE_FILE_MODE)


@contextlib.contextmanager
def private_output(path: Path) -> Iterator[Path]:
    """A 0600 temporary file beside ``path`` that replaces it when the block succeeds.

    The target never exists with a wider mode, nor half written. A target that is
    not a regular file (``/dev/stdout``, a pipe) is written to directly.
    """
    if path.exists() and not path.is_file():
        yield path
        return
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")  # 0600
    os.close(fd)
    temporary = Path(name)
    try:
        yield temporary
        temporary.replace(path)
    finally:
        temporary.unlink(missing_ok=True)


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
    import sqlite3  # here, not with the module: a PostgreSQL server never loads it

    database = Path(engine.url.database or "")

    @event.listens_for(engine, "do_connect")
    def _private_file(_dialect: Any, _record: Any, _cargs: Any, _cparams: Any) -> None:
        make_private_database(database)

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
        statement = "BEGIN" if read_only else "BEGIN IMMEDIATE"
        driver = conn.connection.dbapi_connection
        if isinstance(driver, sqlite3.Connection):
            # Straight to the driver: through ``exec_driver_sql`` (SQLAlchemy's execution
            # context) it cost twice as much, once per writer batch on the hot path.
            try:
                driver.execute(statement)
            except sqlite3.Error as exc:  # wrapped as SQLAlchemy would: callers retry on its OperationalError
                raise sa.exc.DBAPIError.instance(statement, None, exc, sqlite3.Error) from exc
        else:  # aiosqlite's adapter: its statements are awaited through SQLAlchemy
            conn.exec_driver_sql(statement)


# Background work (the minute's rollups) reads hundreds of thousands of rows. PostgreSQL would
# run such a read on every core it has (parallel workers), starving the status checks meanwhile:
# its connections read on one core.
_ONE_CORE = {"options": "-c max_parallel_workers_per_gather=0"}


def make_sync_engine(urls: DatabaseUrls, *, pool_size: int = 2, background: bool = False) -> sa.Engine:
    if urls.is_sqlite:
        engine = sa.create_engine(urls.sync, poolclass=sa.pool.QueuePool, pool_size=pool_size)
        _sqlite_setup(engine)
        return engine
    connect_args = _ONE_CORE if background else {}
    return sa.create_engine(urls.sync, pool_size=pool_size, pool_pre_ping=True, connect_args=connect_args)


def make_async_engine(urls: DatabaseUrls, *, pool_size: int = 5) -> AsyncEngine:
    if urls.is_sqlite:
        engine = create_async_engine(urls.async_, pool_size=pool_size)
        _sqlite_setup(engine.sync_engine)
        engine.sync_engine.dialect.do_terminate = _close_sqlite_connection  # type: ignore[method-assign]
        return engine
    return create_async_engine(urls.async_, pool_size=pool_size, pool_pre_ping=True)


def _close_sqlite_connection(dbapi_connection: Any) -> None:
    """Close an aiosqlite connection the pool discards (a task cancelled mid-statement), once.

    The dialect's own "terminate" starts a graceful close and, if that is
    cancelled in turn (a task cancelled twice, as at shutdown), stops the
    connection's thread as well; the graceful close then queues a second stop
    behind the thread's end and waits for it forever, and the server's event
    loop never finishes closing. A local file needs no forced close: closing it
    waits at most for the statement under way.
    """
    if in_greenlet():
        dbapi_connection.close()
    else:  # garbage collection, outside any await: nothing can be awaited
        dbapi_connection.terminate()


def alembic_config(sync_url: str) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", sync_url.replace("%", "%%"))
    return config


def upgrade(urls: DatabaseUrls, revision: str = "head") -> None:
    """Apply migrations up to ``revision`` (idempotent; safe on every start).

    A database already at a migration this code does not know was migrated by a
    newer release (a rolling upgrade under way): it is left as it is, and this
    host serves beside the new columns and tables, as it did before the upgrade.
    """
    if urls.is_sqlite:
        Path(make_url(urls.sync).database or "").parent.mkdir(mode=PRIVATE_DIR_MODE, parents=True, exist_ok=True)
    from licentia.server.store.snapshot import ahead_of_code, head_revision

    if revision == "head":
        found = current_revision(urls)
        if ahead_of_code(found):
            code = head_revision()
            log.warning("the database is at migration %s, newer than this code's %s: left as it is", found, code)
            return
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
