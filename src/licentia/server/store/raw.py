"""Hot-path statements on the driver connection, bypassing SQLAlchemy's per-call work.

A status check must cost about one indexed lookup and one small write
(docs/performance.md): SQLAlchemy's statement compilation, caching keys and
result wrapping cost more than the database itself for statements this small.
So the few statements of the check are written once with ``:name``
parameters and run on the DBAPI connection of the same transaction (sqlite3
or psycopg, which prepares repeated statements server-side). The values are
stored exactly as SQLAlchemy stores them, so both paths read each other's rows.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from operator import itemgetter
from typing import Any

import orjson
import sqlalchemy as sa

UTC = dt.UTC
# conn.info key: the writer's transaction on this connection is still to begin (see begin_lazily).
_BEGIN_PENDING = "licentia.begin_pending"


def _naive_utc(value: dt.datetime) -> dt.datetime:
    if value.tzinfo is None:
        return value
    return (value if value.tzinfo is UTC else value.astimezone(UTC)).replace(tzinfo=None)


def _sqlite_datetime(value: dt.datetime) -> str:
    return _naive_utc(value).isoformat(" ", "microseconds")  # SQLAlchemy's SQLite DateTime format


def _dump_json(value: Any) -> str:
    return orjson.dumps(value).decode()


def _jsonb(value: Any) -> Any:
    from psycopg.types.json import Jsonb

    return Jsonb(value)


def _from_datetime(value: Any) -> dt.datetime:
    if isinstance(value, str):  # SQLite: naive UTC text
        return dt.datetime.fromisoformat(value).replace(tzinfo=UTC)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _from_date(value: Any) -> dt.date:
    return dt.date.fromisoformat(value) if isinstance(value, str) else value


def _from_json(value: Any) -> Any:
    return orjson.loads(value) if isinstance(value, str) else value


# Python value -> driver value, by exact type; lists are array parameters,
# which SQLite reads back with json_each().
_SQLITE_PARAMS: dict[type, Callable[[Any], Any]] = {
    dt.datetime: _sqlite_datetime,
    dt.date: dt.date.isoformat,
    list: _dump_json,
}
_POSTGRESQL_PARAMS: dict[type, Callable[[Any], Any]] = {dt.datetime: _naive_utc}


class Record(dict[str, Any]):
    """A row as a dict with attribute access (``row.status``), like SQLAlchemy's rows.

    Rows read by a :class:`Statement` are of a subclass per column set (see
    :func:`record_type`) whose columns are properties: ``__getattr__`` runs only
    after Python's own lookup failed, which costs ten times a dict lookup.
    """

    __slots__ = ()

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError as exc:
            raise AttributeError(name) from exc


_record_types: dict[tuple[str, ...], type[Record]] = {}


def record_type(names: tuple[str, ...]) -> type[Record]:
    """The Record subclass for rows of these columns, made once per column set."""
    found = _record_types.get(names)
    if found is None:
        columns = {
            name: property(itemgetter(name)) for name in names if name.isidentifier() and not hasattr(dict, name)
        }
        found = _record_types[names] = type("Record", (Record,), {"__slots__": (), **columns})
    return found


class Statement:
    """One SQL text with ``:name`` parameters, rendered for each driver's parameter style."""

    def __init__(
        self,
        sql: str,
        *,
        datetimes: Iterable[str] = (),
        dates: Iterable[str] = (),
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
        self.dates = frozenset(dates)
        self.json_columns = frozenset(json_columns)
        self.booleans = frozenset(booleans)
        # Per column set: the row type, and the columns to convert from the driver's values.
        self._plans: dict[tuple[str, ...], tuple[type[Record], list[tuple[int, Callable[[Any], Any]]]]] = {}

    def _params(self, dialect: str, params: Mapping[str, Any]) -> dict[str, Any]:
        sqlite = dialect == "sqlite"
        convert = _SQLITE_PARAMS if sqlite else _POSTGRESQL_PARAMS
        json_columns = self.json_columns
        out: dict[str, Any] = {}
        for name, value in params.items():
            if name in json_columns:
                if value is not None:
                    value = _dump_json(value) if sqlite else _jsonb(value)
            else:
                to_driver = convert.get(type(value))
                if to_driver is not None:
                    value = to_driver(value)
            out[name] = value
        return out

    def _from_driver(self, name: str) -> Callable[[Any], Any] | None:
        if name in self.datetimes:
            return _from_datetime
        if name in self.dates:
            return _from_date
        if name in self.json_columns:
            return _from_json
        if name in self.booleans:
            return bool
        return None

    def _decode(self, names: tuple[str, ...], values: Sequence[Any]) -> Record:
        found = self._plans.get(names)
        if found is None:
            found = self._plans[names] = (
                record_type(names),
                [(i, convert) for i, name in enumerate(names) if (convert := self._from_driver(name)) is not None],
            )
        row_type, plan = found
        decoded = list(values)
        for i, from_driver in plan:
            value = decoded[i]
            if value is not None:
                decoded[i] = from_driver(value)
        return row_type(zip(names, decoded, strict=True))

    def _cursor(self, conn: sa.Connection, params: Mapping[str, Any]) -> Any:
        dialect = conn.dialect.name
        cursor = _cursor_of(conn)
        sql = self.sqlite if dialect == "sqlite" else self.postgresql
        cursor.execute(sql, self._params(dialect, params))
        return cursor

    def execute(self, conn: sa.Connection, **params: Any) -> int:
        """Run a write; the number of rows it changed."""
        cursor = self._cursor(conn, params)
        try:
            return int(cursor.rowcount)
        finally:
            cursor.close()

    def first(self, conn: sa.Connection, **params: Any) -> Record | None:
        cursor = self._cursor(conn, params)
        try:
            values = cursor.fetchone()
            if values is None:
                return None
            return self._decode(tuple(d[0] for d in cursor.description), values)
        finally:
            cursor.close()

    def all(self, conn: sa.Connection, **params: Any) -> list[Record]:
        if conn.dialect.name == "postgresql":
            return self._all_as_json(conn, params)
        cursor = self._cursor(conn, params)
        try:
            names = tuple(d[0] for d in cursor.description)
            return [self._decode(names, values) for values in cursor.fetchall()]
        finally:
            cursor.close()

    def _all_as_json(self, conn: sa.Connection, params: Mapping[str, Any]) -> list[Record]:
        """PostgreSQL: the rows as one JSON array, parsed by orjson.

        psycopg builds each row's values in Python; for the batch read-ahead
        (dozens of wide rows) one text value parsed in C costs a third less.
        """
        cursor = _cursor_of(conn)
        try:
            cursor.execute(
                f"SELECT coalesce(json_agg(r), '[]')::text FROM ({self.postgresql}) r",
                self._params("postgresql", params),
            )
            found = cursor.fetchone()
            rows = orjson.loads(found[0]) if found else []
        finally:
            cursor.close()
        if not rows:
            return []
        row_type = record_type(tuple(rows[0]))
        # JSON carries times and days as text; the rest arrives as the columns hold it.
        plan: list[tuple[str, Callable[[Any], Any]]] = [
            (name, _from_datetime if name in self.datetimes else _from_date)
            for name in rows[0]
            if name in self.datetimes or name in self.dates
        ]
        for row in rows:
            for name, convert in plan:
                if (value := row[name]) is not None:
                    row[name] = convert(value)
        return [row_type(row) for row in rows]

    def execute_many(self, conn: sa.Connection, rows: Sequence[Mapping[str, Any]]) -> int:
        """Run the statement once per row, in one driver call; returns the rows changed in all.

        psycopg sends the whole set in one pipeline, so a batch costs one round trip.
        """
        dialect = conn.dialect.name
        begin_if_pending(conn)
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.executemany(
                self.sqlite if dialect == "sqlite" else self.postgresql,
                [self._params(dialect, row) for row in rows],
            )
            return int(cursor.rowcount)
        finally:
            cursor.close()


class BulkUpdate:
    """UPDATE many rows, each with its own values and guard, in one driver call.

    SQLite runs the statement once per row (``executemany``: in process, and
    cheap). PostgreSQL gets one statement whose rows travel as a single JSON
    parameter read by ``jsonb_to_recordset``: psycopg's per-row work in an
    ``executemany`` costs the server process more than the database's own.

    ``columns`` and ``guards`` map names to PostgreSQL types. A guard ``name``
    compares column ``name`` (null-safe) with the row's value ``read_<name>``.
    """

    def __init__(self, table: str, key: str, columns: Mapping[str, str], guards: Mapping[str, str]) -> None:
        self.key = key
        self.columns = dict(columns)
        keyed = f"{key} = :{key}"
        conditions = [keyed] + [f"{name} IS NOT DISTINCT FROM :read_{name}" for name in guards]
        self.statement = Statement(
            f"UPDATE {table} SET {', '.join(f'{c} = :{c}' for c in columns)} WHERE {' AND '.join(conditions)}",
            json_columns=[c for c, kind in columns.items() if kind in ("json", "jsonb")],
        )
        fields = {key: "text", **columns, **{f"read_{name}": kind for name, kind in guards.items()}}
        # Sent without a zone (naive UTC), as the columns hold them: a zone in the
        # text would be silently dropped by a ``timestamp`` column.
        self._datetimes = [name for name, kind in fields.items() if kind == "timestamp"]
        self.postgresql = (
            f"UPDATE {table} t SET {', '.join(f'{c} = v.{c}' for c in columns)}"
            f" FROM jsonb_to_recordset(%s::jsonb) AS v({', '.join(f'{n} {kind}' for n, kind in fields.items())})"
            # The keys again as an array: the planner then reads the named rows by
            # index. Joined only with the record set (which it guesses at 100 rows),
            # it scanned the whole table once a table held a few thousand rows.
            f" WHERE t.{key} = ANY(%s) AND t.{key} = v.{key}"
            + "".join(f" AND t.{name} IS NOT DISTINCT FROM v.read_{name}" for name in guards)
        )

    def run(self, conn: sa.Connection, rows: list[dict[str, Any]]) -> int:
        """Apply every row in order; returns how many rows the guards let through."""
        if conn.dialect.name == "sqlite":
            return self.statement.execute_many(conn, rows)
        changed = 0
        cursor = _cursor_of(conn)
        try:
            pending = rows
            while pending:
                # A row named twice goes in a later statement: its guard reads the first one's result.
                wave: dict[Any, dict[str, Any]] = {}
                later = []
                for row in pending:
                    if row[self.key] in wave:
                        later.append(row)
                    else:
                        wave[row[self.key]] = row
                        for name in self._datetimes:
                            if (value := row[name]) is not None:
                                row[name] = _naive_utc(value)
                cursor.execute(self.postgresql, (orjson.dumps(list(wave.values())).decode(), list(wave)))
                changed += int(cursor.rowcount)
                pending = later
        finally:
            cursor.close()
        return changed


# PostgreSQL's transactions through the writer begin with their first statement.
#
# psycopg sends BEGIN in a round trip of its own before a transaction's first
# statement; a status check's batch has three or four round trips in all, and
# the event loop may have nothing else to do while one is under way. So the
# writer's connections are in autocommit at the driver, and the writer marks a
# batch's transaction as pending (begin_lazily): the first statement run
# through this module then travels with its BEGIN in one pipeline, one round
# trip; any other statement (SQLAlchemy's) sends the BEGIN first
# (begin_if_pending, hooked to the engine by the writer). The commit or
# rollback at the batch's end is psycopg's own, and does nothing if no
# statement ran.


def begin_lazily(conn: sa.Connection) -> None:
    """The transaction on ``conn`` begins with its first statement (PostgreSQL through the writer)."""
    conn.info[_BEGIN_PENDING] = True


def drop_lazy_begin(conn: sa.Connection) -> None:
    """The batch is over: no transaction is pending any more, whether or not it began."""
    conn.info.pop(_BEGIN_PENDING, None)


def begin_if_pending(conn: sa.Connection) -> None:
    """Send the pending BEGIN now, on its own (before a statement this module does not run)."""
    if conn.info.pop(_BEGIN_PENDING, False):
        from sqlalchemy.util import await_only

        await_only(conn.connection.driver_connection.execute("BEGIN"))  # type: ignore[union-attr]


def _cursor_of(conn: sa.Connection) -> Any:
    if conn.info.pop(_BEGIN_PENDING, False):
        return _BeginningCursor(conn.connection.driver_connection)
    return conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]


class _BeginningCursor:
    """A cursor whose one statement travels with the transaction's BEGIN (psycopg's asyncio connection)."""

    def __init__(self, driver: Any) -> None:
        self._driver = driver
        self._cursor: Any = None

    def execute(self, sql: str, params: Any) -> None:
        from sqlalchemy.util import await_only

        if self._cursor is not None:  # a later statement: the transaction has begun
            await_only(self._cursor.execute(sql, params))
            return
        self._cursor = await_only(self._begin_and_execute(sql, params))

    async def _begin_and_execute(self, sql: str, params: Any) -> Any:
        async with self._driver.pipeline():
            await self._driver.execute("BEGIN")
            cursor = self._driver.cursor()
            await cursor.execute(sql, params)
        return cursor

    @property
    def rowcount(self) -> int:
        return int(self._cursor.rowcount)

    @property
    def description(self) -> Any:
        return self._cursor.description

    def fetchone(self) -> Any:
        from sqlalchemy.util import await_only

        return await_only(self._cursor.fetchone())

    def fetchall(self) -> Any:
        from sqlalchemy.util import await_only

        return await_only(self._cursor.fetchall())

    def close(self) -> None:
        from sqlalchemy.util import await_only

        await_only(self._cursor.close())
