"""Fixed-window rate limits kept in the database, so every worker sees the same count."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from licentia.server.store.tables import rate_limits

WINDOW = dt.timedelta(hours=1)


def _window_start(now: dt.datetime, window: dt.timedelta) -> dt.datetime:
    seconds = int(window.total_seconds())
    return dt.datetime.fromtimestamp(int(now.timestamp()) // seconds * seconds, dt.UTC)


def peek(
    conn: sa.Connection, bucket: str, now: dt.datetime, *, limit: int, window: dt.timedelta = WINDOW
) -> int | None:
    """Seconds to wait if ``bucket`` already used up its ``limit`` this window, else None."""
    start = _window_start(now, window)
    count = conn.execute(
        sa.select(rate_limits.c.count).where(rate_limits.c.bucket == bucket, rate_limits.c.window_start == start)
    ).scalar()
    if count is not None and count >= limit:
        return max(1, int((start + window - now).total_seconds()))
    return None


def hit(conn: sa.Connection, bucket: str, now: dt.datetime, *, window: dt.timedelta = WINDOW) -> int:
    """Count one attempt in ``bucket``; return the count in this window."""
    start = _window_start(now, window)
    count = _count(conn, bucket, start)
    if count == 1:
        # A new window started: forget windows that can no longer limit anyone.
        purge(conn, now, window=window)
    return count


def _count(conn: sa.Connection, bucket: str, start: dt.datetime) -> int:
    ins = (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(rate_limits)
    return int(
        conn.execute(
            ins.values(bucket=bucket, window_start=start, count=1)
            .on_conflict_do_update(index_elements=["bucket", "window_start"], set_={"count": rate_limits.c.count + 1})
            .returning(rate_limits.c.count)
        ).scalar_one()
    )


def purge(conn: sa.Connection, now: dt.datetime, *, window: dt.timedelta = WINDOW) -> None:
    conn.execute(rate_limits.delete().where(rate_limits.c.window_start < now - 2 * window))
