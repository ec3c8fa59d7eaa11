"""Hot-path statements on the driver connection, bypassing SQLAlchemy's per-call work.

A status check must cost about one indexed lookup and one small write
(PERFORMANCE.md): SQLAlchemy's statement compilation, caching keys and
result wrapping cost more than the database itself for statements this small.
So the few statements of the check are written once with ``:name``
parameters and run on the DBAPI connection of the same transaction (sqlite3
or psycopg, which prepares repeated statements server-side). The values are
stored exactly as SQLAlchemy stores them, so both paths read each other's rows.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

import sqlalchemy as sa

UTC = dt.UTC


class Record(dict[str, Any]):
    """A row as a dict with attribute access (``row.status``), like SQLAlchemy's rows."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError as exc:
            raise AttributeError(name) from exc


class Statement:
    """One SQL text with ``:name`` parameters, rendered for each driver's parameter style."""

    def __init__(
        self,
        sql: str,
        *,
        datetimes: Iterable[str] = (),
        json_columns: Iterable[str] = (),
        booleans: Iterable[str] = (),
        sqlite: str | None = None,
    ) -> None:
        # Written in PostgreSQL's words; SQLite before 3.39 knows the null-safe
        # comparison only as plain IS. ``sqlite`` replaces the text where the
        # two differ more (arrays).
        self.sqlite = sqlite or sql.replace(" IS NOT DISTINCT FROM ", " IS ")
        self.postgresql = re.sub(r"(?<!:):(\w+)", r"%(\1)s", sql)
        self.datetimes = frozenset(datetimes)
        self.json_columns = frozenset(json_columns)
        self.booleans = frozenset(booleans)

    def _params(self, dialect: str, params: Mapping[str, Any]) -> dict[str, Any]:
        sqlite = dialect == "sqlite"
        out: dict[str, Any] = {}
        for name, value in params.items():
            if name in self.json_columns:
                if value is not None:
                    if sqlite:
                        value = json.dumps(value)
                    else:
                        from psycopg.types.json import Jsonb

                        value = Jsonb(value)
            elif isinstance(value, dt.datetime):
                if value.tzinfo is not None:
                    value = (value if value.tzinfo is UTC else value.astimezone(UTC)).replace(tzinfo=None)
                if sqlite:
                    value = value.isoformat(" ", "microseconds")  # SQLAlchemy's SQLite DateTime format
            elif sqlite and isinstance(value, list):
                value = json.dumps(value)  # an array parameter, read back with json_each()
            out[name] = value
        return out

    def _decode(self, names: list[str], values: tuple[Any, ...]) -> Record:
        row = Record(zip(names, values, strict=True))
        for name in self.datetimes & row.keys():
            value = row[name]
            if value is None:
                continue
            if isinstance(value, str):
                value = dt.datetime.fromisoformat(value)
            row[name] = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        for name in self.json_columns & row.keys():
            if isinstance(row[name], str):
                row[name] = json.loads(row[name])
        for name in self.booleans & row.keys():
            if row[name] is not None:
                row[name] = bool(row[name])
        return row

    def _cursor(self, conn: sa.Connection, params: Mapping[str, Any]) -> Any:
        dialect = conn.dialect.name
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        sql = self.sqlite if dialect == "sqlite" else self.postgresql
        cursor.execute(sql, self._params(dialect, params))
        return cursor

    def first(self, conn: sa.Connection, **params: Any) -> Record | None:
        cursor = self._cursor(conn, params)
        try:
            values = cursor.fetchone()
            if values is None:
                return None
            return self._decode([d[0] for d in cursor.description], tuple(values))
        finally:
            cursor.close()

    def all(self, conn: sa.Connection, **params: Any) -> list[Record]:
        cursor = self._cursor(conn, params)
        try:
            names = [d[0] for d in cursor.description]
            return [self._decode(names, tuple(values)) for values in cursor.fetchall()]
        finally:
            cursor.close()

    def execute(self, conn: sa.Connection, **params: Any) -> int:
        cursor = self._cursor(conn, params)
        try:
            return int(cursor.rowcount)
        finally:
            cursor.close()

    def execute_many(self, conn: sa.Connection, rows: list[Mapping[str, Any]]) -> int:
        """Run the statement once per row, in one driver call; returns the rows changed in all.

        psycopg sends the whole set in one pipeline, so a batch costs one round trip.
        """
        dialect = conn.dialect.name
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.executemany(
                self.sqlite if dialect == "sqlite" else self.postgresql,
                [self._params(dialect, row) for row in rows],
            )
            return int(cursor.rowcount)
        finally:
            cursor.close()
