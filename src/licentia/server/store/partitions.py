"""Monthly partitions of the events table on PostgreSQL (migration 0010).

Events are append-only and the largest table by far. On PostgreSQL they are
split by month of ``received_at`` (the server's clock, never the client's, so
a device cannot pick which partition it writes to), so that:

- retention drops a whole month (``DROP TABLE``: no dead rows, no vacuum, no
  long delete holding locks) instead of deleting row by row;
- queries over a time range (rollups, exports, the facts purge) read only the
  months they name.

Partitions live in their own schema (:data:`SCHEMA`) so the application's
schema lists only its tables. Each month is created ahead of time by the
maintenance job (:func:`ensure_ahead`, run by the migration and by every
server process at start and every few hours); a ``DEFAULT`` partition takes
any row whose month has no partition yet, so an event is never refused for
lack of one, and the next maintenance run moves those rows into their month.
SQLite keeps one plain table: a single file has no use for partitions.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import sqlalchemy as sa

SCHEMA = "event_partitions"
DEFAULT_PARTITION = "events_default"
MONTHS_AHEAD = 3
# How long partition maintenance waits for a lock while the server runs (see _while_serving).
ONLINE_LOCK_TIMEOUT = "300ms"
# Serialises partition maintenance between the workers and hosts that all run it.
MAINTENANCE_LOCK = 7243003
_NAME = re.compile(r"^events_(\d{4})_(\d{2})$")
# Every name in the statements below is a constant or made from a date (partition_name):
# no text from a caller reaches them.
_PARKED = f"SELECT min(received_at), max(received_at) FROM {SCHEMA}.{DEFAULT_PARTITION}"  # noqa: S608


@dataclass(frozen=True)
class Partition:
    name: str
    month: dt.date  # the first day of the month it holds

    @property
    def end(self) -> dt.date:
        return next_month(self.month)


def month_of(day: dt.date | dt.datetime) -> dt.date:
    return dt.date(day.year, day.month, 1)


def next_month(month: dt.date) -> dt.date:
    return dt.date(month.year + month.month // 12, month.month % 12 + 1, 1)


def partition_name(month: dt.date) -> str:
    return f"events_{month.year:04d}_{month.month:02d}"


def is_partitioned(conn: sa.Connection) -> bool:
    """True when ``events`` is a partitioned table (PostgreSQL after migration 0010)."""
    if conn.dialect.name != "postgresql":
        return False
    kind = conn.execute(
        sa.text("SELECT relkind FROM pg_class WHERE oid = to_regclass('public.events')")
    ).scalar_one_or_none()
    return kind == "p"


def monthly_partitions(conn: sa.Connection) -> list[Partition]:
    """The month partitions that exist, oldest first (the DEFAULT partition is not one)."""
    names = conn.execute(
        sa.text(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
            " WHERE i.inhparent = to_regclass('public.events')"
        )
    ).scalars()
    found = []
    for name in names:
        match = _NAME.match(name)
        if match:
            found.append(Partition(name, dt.date(int(match.group(1)), int(match.group(2)), 1)))
    return sorted(found, key=lambda p: p.month)


def _bound(day: dt.date) -> str:
    # received_at is naive UTC (store.models.UTCDateTime), so are the bounds.
    return f"'{day.isoformat()} 00:00:00'"


def create_month(conn: sa.Connection, month: dt.date) -> bool:
    """Create the partition of ``month`` unless it exists; True when it was created.

    Built as a table of its own and then attached: ATTACH takes a lock that
    lets inserts go on (CREATE ... PARTITION OF would block them), and rows the
    DEFAULT partition took for this month move in first, so attaching never
    fails on them.
    """
    name = partition_name(month)
    if conn.execute(sa.text(f"SELECT to_regclass('{SCHEMA}.{name}')")).scalar() is not None:
        return False
    lo, hi = _bound(month), _bound(next_month(month))
    conn.execute(sa.text(f"CREATE TABLE {SCHEMA}.{name} (LIKE public.events INCLUDING DEFAULTS INCLUDING CONSTRAINTS)"))
    default = f"{SCHEMA}.{DEFAULT_PARTITION}"
    parked = (
        conn.execute(sa.text(f"SELECT to_regclass('{default}') IS NOT NULL")).scalar()
        and conn.execute(
            sa.text(f"SELECT EXISTS (SELECT 1 FROM {default} WHERE received_at >= {lo} AND received_at < {hi})")  # noqa: S608
        ).scalar()
    )
    if parked:
        # A query planned before the attach does not know the new partition: were the rows
        # moved under it, it would find them in neither place. So nobody reads events meanwhile.
        conn.execute(sa.text("LOCK TABLE public.events IN ACCESS EXCLUSIVE MODE"))
        conn.execute(
            sa.text(
                f"WITH moved AS (DELETE FROM {default} WHERE received_at >= {lo} AND received_at < {hi}"  # noqa: S608
                f" RETURNING *) INSERT INTO {SCHEMA}.{name} SELECT * FROM moved"
            )
        )
    conn.execute(
        sa.text(f"ALTER TABLE public.events ATTACH PARTITION {SCHEMA}.{name} FOR VALUES FROM ({lo}) TO ({hi})")
    )
    return True


def ensure_months(conn: sa.Connection, first: dt.date, last: dt.date) -> list[str]:
    """Every month from ``first`` to ``last`` has its partition; returns those created now."""
    conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": MAINTENANCE_LOCK})
    created = []
    month = month_of(first)
    while month <= month_of(last):
        if create_month(conn, month):
            created.append(partition_name(month))
        month = next_month(month)
    return created


def _while_serving(conn: sa.Connection, partitions: list[str]) -> None:
    """Partition DDL next to live traffic: every strong lock up front, and give up fast.

    Attaching or detaching a partition adds or removes its foreign keys, which
    locks the tables they refer to against writes, and locks the partitions
    concerned (and DEFAULT, on attach) against every reader. A status check
    that holds one of those and waits for another would wait on the DDL while
    the DDL waits on it. So the DDL takes all its locks before doing anything,
    each within a short lock timeout: if it waits, it is at the start and not
    for long, and it is always maintenance, never a check, that gives up (it
    runs again later; DEFAULT holds any event meanwhile).
    """
    conn.execute(sa.text(f"SET LOCAL lock_timeout = '{ONLINE_LOCK_TIMEOUT}'"))
    conn.execute(sa.text("LOCK TABLE products, devices, licenses IN SHARE ROW EXCLUSIVE MODE"))
    if partitions:
        named = ", ".join(f"{SCHEMA}.{name}" for name in partitions)
        conn.execute(sa.text(f"LOCK TABLE {named} IN ACCESS EXCLUSIVE MODE"))


def ensure_ahead(conn: sa.Connection, now: dt.datetime, months: int = MONTHS_AHEAD) -> list[str]:
    """This month and the next ``months`` have partitions, and rows parked in DEFAULT find their month.

    Run by every server process (evidence.retention); a no-op (returning [])
    where events are not partitioned or nothing is missing.
    """
    if not is_partitioned(conn):
        return []
    first, last = month_of(now), month_of(now)
    for _ in range(months):
        last = next_month(last)
    parked = conn.execute(sa.text(_PARKED)).one()
    if parked[0] is not None:
        # Rows parked in DEFAULT get their months, even one beyond the horizon (a clock far ahead).
        first, last = min(first, month_of(parked[0])), max(last, month_of(parked[1]))
    existing = {p.month for p in monthly_partitions(conn)}
    month, missing = first, False
    while month <= last and not missing:
        missing = month not in existing
        month = next_month(month)
    if not missing:
        return []
    _while_serving(conn, [DEFAULT_PARTITION])
    return ensure_months(conn, first, last)


def drop_before(conn: sa.Connection, cutoff: dt.datetime) -> list[str]:
    """Drop every month partition that holds only events received before ``cutoff``; return their names.

    Whole months only: a month that straddles the cutoff stays until it is
    entirely past it (the row-by-row path in ``evidence.retention`` is for
    SQLite). Rows parked in DEFAULT are deleted by the same rule.
    """
    limit = cutoff.astimezone(dt.UTC).date() if cutoff.tzinfo else cutoff.date()
    old = [p for p in monthly_partitions(conn) if p.end <= limit]
    if old:
        _while_serving(conn, [p.name for p in old])
    conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": MAINTENANCE_LOCK})
    dropped = []
    for partition in old:
        # Detached first: DROP of an attached partition locks the parent harder and longer.
        conn.execute(sa.text(f"ALTER TABLE public.events DETACH PARTITION {SCHEMA}.{partition.name}"))
        conn.execute(sa.text(f"DROP TABLE {SCHEMA}.{partition.name}"))
        dropped.append(partition.name)
    conn.execute(
        sa.text(f"DELETE FROM {SCHEMA}.{DEFAULT_PARTITION} WHERE received_at < :cutoff"),  # noqa: S608
        {"cutoff": cutoff.astimezone(dt.UTC).replace(tzinfo=None)},
    )
    return dropped
