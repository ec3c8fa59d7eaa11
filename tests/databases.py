"""Test databases: migrated once per session into a template, copied for each test.

Running every migration for every test costs more than most tests; a copy of a
migrated template is the same database (same revision, same schema) for a
fraction of that. SQLite copies the file; PostgreSQL creates the test's
database from a template database on the server (``CREATE DATABASE ... TEMPLATE``).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy.engine import make_url

PG_URL = os.environ.get("LICENTIA_TEST_POSTGRES_URL")


def _admin_dsn() -> str:
    assert PG_URL
    return make_url(PG_URL).set(drivername="postgresql").render_as_string(hide_password=False)


def _pg_url(name: str) -> str:
    assert PG_URL
    return make_url(PG_URL).set(drivername="postgresql", database=name).render_as_string(hide_password=False)


def pg_database(templates: Templates | None = None) -> Iterator[str]:
    """A fresh PostgreSQL database for one test (empty, or a copy of the migrated template), dropped afterwards."""
    import psycopg

    name = f"t_{uuid.uuid4().hex[:12]}"
    template = templates.postgresql() if templates is not None else None
    with psycopg.connect(_admin_dsn(), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
    if templates is not None:
        templates.copied.add(_pg_url(name))
    try:
        yield _pg_url(name)
    finally:
        with psycopg.connect(_admin_dsn(), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def migrate(url: str) -> None:
    from licentia.server.store.engine import database_urls, upgrade

    upgrade(database_urls(url))


class Templates:
    """The session's migrated templates, made on first use, one per backend."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.sqlite_file: Path | None = None
        self.pg_name: str | None = None
        self.copied: set[str] = set()  # databases made from a template: already migrated

    def sqlite(self) -> Path:
        if self.sqlite_file is None:
            path = self.directory / "template.db"
            migrate(f"sqlite:///{path}")
            # Fold the write-ahead log into the file, so the file alone is the database.
            with contextlib.closing(sqlite3.connect(path)) as db:
                db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            self.sqlite_file = path
        return self.sqlite_file

    def postgresql(self) -> str:
        if self.pg_name is None:
            import psycopg

            name = f"tmpl_{uuid.uuid4().hex[:12]}"
            with psycopg.connect(_admin_dsn(), autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{name}"')
            self.pg_name = name  # dropped by close() even if the migration fails
            migrate(_pg_url(name))
        return self.pg_name

    def copy_into(self, url: str) -> None:
        """Make the empty database at ``url`` a migrated one (at the head revision)."""
        if url in self.copied:
            return
        parsed = make_url(url)
        if parsed.get_backend_name() == "sqlite":
            target = Path(parsed.database or "")
            if target.exists():  # something already wrote here: migrate it in place instead
                migrate(url)
                return
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(self.sqlite(), target)
            os.chmod(target, 0o600)  # a database file is data: owner only, like the server makes it
        else:
            import psycopg

            template = self.postgresql()
            name = parsed.database
            with psycopg.connect(_admin_dsn(), autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')

    def close(self) -> None:
        if self.pg_name is not None:
            import psycopg

            with psycopg.connect(_admin_dsn(), autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{self.pg_name}" WITH (FORCE)')
            self.pg_name = None
