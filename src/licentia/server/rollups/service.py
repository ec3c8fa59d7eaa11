"""(Re)computing daily rollups from events and devices.

Dashboards never scan the events table (it grows without bound, DESIGN.md
8b); they read ``daily_rollups``. A day's rows are deleted and rewritten in
one transaction, so recomputing is idempotent and a reader never sees half a
day. Today is recomputed every minute by a startup task, past days by
``licentia rollup`` and by the demo.

Metrics (``dimension`` is ``""`` unless said):

- ``new_devices``: devices first seen that day.
- ``events``: events received that day, dimension = kind.
- ``active_1d`` / ``active_7d`` / ``active_30d``: distinct devices with a
  daily ``check`` in the window ending that day.
- ``conversions``: devices activated (bound to a license) that day.
- ``devices``: devices existing at the end of the day by state
  (``trial``, ``trial_expired``, ``registered``, ``blocked``); rebuilt from
  first-seen, activation and trial-end times, so a past day recomputed later
  reflects seats freed since.
- ``versions_7d`` / ``os_7d``: distinct devices active in the last 7 days by
  the app version they reported / by their operating system.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa

from licentia.core.clock import UTC
from licentia.server.store.models import DailyRollup, Device, Event, table_of

rollups = table_of(DailyRollup)
events = table_of(Event)
devices = table_of(Device)
UNKNOWN = "unknown"


def _bounds(day: dt.date, days: int = 1) -> tuple[dt.datetime, dt.datetime]:
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=UTC)
    return end - dt.timedelta(days=days), end


def _active(conn: sa.Connection, day: dt.date, window: int) -> Iterable[tuple[int, str, int]]:
    start, end = _bounds(day, window)
    query = (
        sa.select(events.c.product_id, sa.func.count(sa.distinct(events.c.device_id)))
        .where(events.c.kind == "check", events.c.received_at >= start, events.c.received_at < end)
        .group_by(events.c.product_id)
    )
    return ((pid, "", n) for pid, n in conn.execute(query))


def compute_day(conn: sa.Connection, day: dt.date) -> list[dict[str, Any]]:
    """Every rollup row of ``day``, for every product."""
    start, end = _bounds(day)
    found: list[tuple[str, Iterable[tuple[int, str, int]]]] = []

    new = sa.select(devices.c.product_id, sa.literal(""), sa.func.count()).where(
        devices.c.first_seen >= start, devices.c.first_seen < end
    )
    found.append(("new_devices", conn.execute(new.group_by(devices.c.product_id)).tuples()))

    by_kind = (
        sa.select(events.c.product_id, events.c.kind, sa.func.count())
        .where(events.c.received_at >= start, events.c.received_at < end)
        .group_by(events.c.product_id, events.c.kind)
    )
    found.append(("events", conn.execute(by_kind).tuples()))
    for window in (1, 7, 30):
        found.append((f"active_{window}d", _active(conn, day, window)))

    converted = sa.select(devices.c.product_id, sa.literal(""), sa.func.count()).where(
        devices.c.activated_at >= start, devices.c.activated_at < end
    )
    found.append(("conversions", conn.execute(converted.group_by(devices.c.product_id)).tuples()))

    registered = sa.and_(devices.c.license_id.is_not(None), devices.c.activated_at < end)
    state = sa.case(
        (devices.c.status == "blocked", "blocked"),
        (registered, "registered"),
        (sa.or_(devices.c.trial_end.is_(None), devices.c.trial_end >= end), "trial"),
        else_="trial_expired",
    )
    snapshot = (
        sa.select(devices.c.product_id, state, sa.func.count())
        .where(devices.c.first_seen < end)
        .group_by(devices.c.product_id, state)
    )
    found.append(("devices", conn.execute(snapshot).tuples()))

    week_start, _ = _bounds(day, 7)
    in_week = sa.and_(events.c.kind == "check", events.c.received_at >= week_start, events.c.received_at < end)
    version = sa.func.coalesce(events.c.data["app_version"].as_string(), UNKNOWN)
    versions = (
        sa.select(events.c.product_id, version, sa.func.count(sa.distinct(events.c.device_id)))
        .where(in_week)
        .group_by(events.c.product_id, version)
    )
    found.append(("versions_7d", conn.execute(versions).tuples()))
    os_name = sa.func.coalesce(devices.c.os_name, UNKNOWN)
    os_mix = (
        sa.select(events.c.product_id, os_name, sa.func.count(sa.distinct(events.c.device_id)))
        .select_from(events.join(devices, devices.c.id == events.c.device_id))
        .where(in_week)
        .group_by(events.c.product_id, os_name)
    )
    found.append(("os_7d", conn.execute(os_mix).tuples()))

    rows = []
    for metric, results in found:
        for product_id, dimension, value in results:
            if value:
                rows.append(
                    {
                        "day": day,
                        "product_id": product_id,
                        "metric": metric,
                        "dimension": str(dimension or "")[:200],
                        "value": int(value),
                    }
                )
    return rows


def refresh(conn: sa.Connection, days: Iterable[dt.date]) -> int:
    """Recompute ``days`` (delete then insert, one transaction); return the rows written."""
    written = 0
    if conn.dialect.name == "postgresql":
        # Every worker runs the minute task; one at a time avoids duplicate-key races.
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(7243001)"))
    for day in sorted(set(days)):
        rows = compute_day(conn, day)
        conn.execute(rollups.delete().where(rollups.c.day == day))
        if rows:
            conn.execute(rollups.insert(), rows)
        written += len(rows)
    return written


def days_between(first: dt.date, last: dt.date) -> list[dt.date]:
    return [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]


def first_activity(conn: sa.Connection) -> dt.date | None:
    """The first day anything happened (where a full recompute starts)."""
    first = conn.execute(sa.select(sa.func.min(devices.c.first_seen))).scalar()
    return first.date() if first else None


def series(
    conn: sa.Connection, *, product_id: int, metric: str, first: dt.date, last: dt.date, dimension: str = ""
) -> list[tuple[dt.date, int]]:
    """One value per day from ``first`` to ``last`` (missing days are 0)."""
    found = dict(
        conn.execute(
            sa.select(rollups.c.day, rollups.c.value).where(
                rollups.c.product_id == product_id,
                rollups.c.metric == metric,
                rollups.c.dimension == dimension,
                rollups.c.day >= first,
                rollups.c.day <= last,
            )
        ).tuples()
    )
    return [(day, int(found.get(day, 0))) for day in days_between(first, last)]


def breakdown(conn: sa.Connection, *, product_id: int, metric: str, day: dt.date) -> list[tuple[str, int]]:
    """A metric's dimensions on ``day``, largest first."""
    rows = conn.execute(
        sa.select(rollups.c.dimension, rollups.c.value)
        .where(rollups.c.product_id == product_id, rollups.c.metric == metric, rollups.c.day == day)
        .order_by(rollups.c.value.desc(), rollups.c.dimension)
    ).tuples()
    return [(str(d), int(v)) for d, v in rows]


def totals(conn: sa.Connection, *, product_id: int, metric: str, first: dt.date, last: dt.date) -> dict[str, int]:
    """A metric summed over ``first..last`` per dimension (for additive metrics only)."""
    rows = conn.execute(
        sa.select(rollups.c.dimension, sa.func.sum(rollups.c.value))
        .where(
            rollups.c.product_id == product_id,
            rollups.c.metric == metric,
            rollups.c.day >= first,
            rollups.c.day <= last,
        )
        .group_by(rollups.c.dimension)
    ).tuples()
    return {str(d): int(v or 0) for d, v in rows}
