"""Read-only queries on the driver connection, for commands that must start fast.

``licentia license list`` or ``device show`` should answer in about the time
Python takes to start: importing SQLAlchemy and Alembic alone costs ten times
that (docs/performance.md). So the read-only commands open the database with
the driver (the standard library's ``sqlite3``; ``psycopg`` for PostgreSQL),
run plain ``SELECT`` statements with ``:name`` parameters, and get back rows
decoded as SQLAlchemy decodes them (aware UTC date-times, dates, booleans,
JSON). A database that does not exist yet or is not at the newest migration
gives no snapshot: the caller migrates it (the slow path) and asks again.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Mapping

# ``typing`` costs more than a third of a bare Python start: names for the type checker only.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

VERSIONS = os.path.join(os.path.dirname(__file__), "migrations", "versions")
_REVISION = re.compile(r"""^(down_)?revision\s*(?::[^=]*)?=\s*["']?([\w-]+|None)["']?""", re.MULTILINE)
_PARAM = re.compile(r"(?<!:):(\w+)")


def head_revision(versions: str = VERSIONS) -> str | None:
    """The newest migration: the one no other migration names as its ``down_revision``.

    Read from the migration files' own ``revision``/``down_revision`` lines
    (a test holds this to Alembic's answer), since Alembic's script loader
    costs more than the command it would serve.
    """
    revisions, parents = _revisions(versions)
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None


def ahead_of_code(found: str | None, versions: str = VERSIONS) -> bool:
    """True when the database is at a migration this code does not know: a newer release applied it.

    During a rolling upgrade the new release migrates first (expand steps only,
    docs/operations.md) while hosts of the previous release still serve: they
    run as they did, beside columns and tables they ignore.
    """
    return found is not None and found not in _revisions(versions)[0]


def _revisions(versions: str) -> tuple[set[str], set[str]]:
    """Every migration's revision, and every revision some migration names as its ``down_revision``."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for name in os.listdir(versions):
        if not name.endswith(".py"):
            continue
        with open(os.path.join(versions, name), encoding="utf-8") as source:
            text = source.read()
        for down, value in _REVISION.findall(text):
            if value != "None":
                (parents if down else revisions).add(value)
    return revisions, parents


class Snapshot:
    """One read-only transaction on the database, rows as plain dicts."""

    def __init__(self, connection: Any, dialect: str) -> None:
        self._conn = connection
        self.dialect = dialect

    def __enter__(self) -> Snapshot:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._conn.rollback()
        self._conn.close()

    def rows(self, sql: str, **params: Any) -> list[dict[str, Any]]:
        if self.dialect == "postgresql":
            sql = _PARAM.sub(r"%(\1)s", sql.replace("%", "%%"))
        cursor = self._conn.cursor()
        try:
            cursor.execute(sql, params)
            names = [column[0] for column in cursor.description]
            found = cursor.fetchall()
        finally:
            cursor.close()
        if self.dialect == "postgresql":
            found = [tuple(map(_aware, values)) for values in found]
        return [dict(zip(names, values, strict=True)) for values in found]

    def row(self, sql: str, **params: Any) -> dict[str, Any] | None:
        found = self.rows(sql, **params)
        return found[0] if found else None

    def revision(self) -> str | None:
        try:
            found = self.row("SELECT version_num FROM alembic_version")
        except Exception:  # the driver's own error type: no table yet, a database never migrated
            return None
        return None if found is None else str(found["version_num"])


def open_snapshot(database_url: str) -> Snapshot | None:
    """A snapshot of the database at ``database_url`` (close it), or ``None`` when it must be migrated first."""
    scheme, _, rest = database_url.partition("://")
    backend = scheme.split("+", 1)[0]
    if backend == "sqlite":
        path = rest[1:] if rest.startswith("/") else rest
        if not path or path == ":memory:" or not os.path.isfile(path):
            return None
        snapshot = Snapshot(_sqlite(path), "sqlite")
    elif backend == "postgresql":
        snapshot = Snapshot(_postgresql("postgresql://" + rest), "postgresql")
    else:
        return None  # the slow path names the problem (unsupported database)
    if snapshot.revision() != head_revision():
        snapshot.close()
        return None
    return snapshot


def _sqlite(path: str) -> Any:
    import sqlite3

    connection = sqlite3.connect(path, detect_types=sqlite3.PARSE_DECLTYPES, isolation_level="DEFERRED")
    connection.execute("PRAGMA busy_timeout=15000")
    # A declared column type names the converter (the schema is SQLAlchemy's own DDL).
    for name, convert in _SQLITE_TYPES.items():
        sqlite3.register_converter(name, convert)
    return connection


def _postgresql(url: str) -> Any:
    import psycopg
    from psycopg.rows import tuple_row

    connection = psycopg.connect(url, row_factory=tuple_row)
    connection.read_only = True
    return connection


def _utc(raw: bytes) -> dt.datetime:
    return dt.datetime.fromisoformat(raw.decode()).replace(tzinfo=dt.UTC)


def _json(raw: bytes) -> Any:
    import json

    return json.loads(raw)


_SQLITE_TYPES: Mapping[str, Any] = {
    "DATETIME": _utc,
    "DATE": lambda raw: dt.date.fromisoformat(raw.decode()),
    "BOOLEAN": lambda raw: raw not in (b"0", b""),
    "JSON": _json,
}


def _aware(value: Any) -> Any:
    """PostgreSQL's naive UTC date-times as aware ones, like the ORM's ``UTCDateTime``."""
    if isinstance(value, dt.datetime) and value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value
