"""Incremental rollups: each run recomputes only the days that are new or changed.

A watermark (``rollup_watermarks``) says how far the rollups are done: the
last event id they include and the last day recomputed after it ended. A run
recomputes:

- today (its counts grow all day);
- every day after the last closed one up to yesterday (a server that was
  down for three days catches up; after midnight, yesterday gets its final
  figures once);
- every day that received an event with an id past the watermark (events are
  stamped with the server's time, so that is normally today; an import or a
  restored backup can add to older days).

Days before that are never read again, however long the history: a run costs
the same with a year of events as with a week. ``refresh`` (``licentia
rollup``) still recomputes any range in full.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from licentia.server.rollups.live import Cutoff
from licentia.server.rollups.service import compute_days, days_between, last_event_id, replace_days
from licentia.server.store.tables import events, watermarks

NAME = "daily"
# A catch-up after a long stop recomputes at most this many closed days in one run.
MAX_CATCH_UP_DAYS = 62


@dataclass(frozen=True)
class Plan:
    days: list[dt.date]
    today: dt.date
    through_event_id: int
    # The run's moment: today's counts stop there, and the dashboard counts on from it.
    at: dt.datetime | None = None


def plan(conn: sa.Connection, today: dt.date, *, at: dt.datetime | None = None) -> Plan:
    """The days to recompute now, read on the same snapshot the rows will be computed on."""
    mark = conn.execute(sa.select(watermarks).where(watermarks.c.name == NAME)).first()
    through = last_event_id(conn)
    days = {today}
    if mark is None:  # the first run: yesterday too, as the minute task always did
        days.add(today - dt.timedelta(days=1))
    else:
        if mark.closed_through is not None and mark.closed_through < today:
            first = max(mark.closed_through + dt.timedelta(days=1), today - dt.timedelta(days=MAX_CATCH_UP_DAYS))
            days.update(days_between(first, today))
        if through > mark.last_event_id:
            days.update(_days_of_events(conn, after=int(mark.last_event_id), through=through))
    return Plan(sorted(d for d in days if d <= today), today, through, at)


def _days_of_events(conn: sa.Connection, *, after: int, through: int) -> set[dt.date]:
    # date() is a function on both databases; SQLite answers text.
    day = sa.func.date(events.c.received_at)
    found = conn.execute(sa.select(day).where(events.c.id > after, events.c.id <= through).group_by(day)).scalars()
    return {value if isinstance(value, dt.date) else dt.date.fromisoformat(value) for value in found}


def compute(conn: sa.Connection, chosen: Plan) -> list[dict[str, Any]]:
    cutoff = None if chosen.at is None else Cutoff(chosen.at, chosen.through_event_id)
    return compute_days(conn, chosen.days, today=chosen.today, cutoff=cutoff)


def commit(conn: sa.Connection, chosen: Plan, rows: list[dict[str, Any]], *, now: dt.datetime) -> int:
    """Swap in the rows and move the watermark, in one short write transaction."""
    written = replace_days(conn, chosen.days, rows)  # takes the rollup lock on PostgreSQL
    mark = conn.execute(sa.select(watermarks).where(watermarks.c.name == NAME)).first()
    closed = chosen.today - dt.timedelta(days=1)
    if mark is None:
        conn.execute(
            watermarks.insert().values(
                name=NAME, last_event_id=chosen.through_event_id, closed_through=closed, updated_at=now
            )
        )
    else:
        # Several workers run the job: the watermark only ever moves forward.
        conn.execute(
            watermarks.update()
            .where(watermarks.c.name == NAME)
            .values(
                last_event_id=max(int(mark.last_event_id), chosen.through_event_id),
                closed_through=max(mark.closed_through or closed, closed),
                updated_at=now,
            )
        )
    return written


def refresh_incremental(conn: sa.Connection, *, now: dt.datetime) -> Plan:
    """Plan, compute and commit on one connection (the CLI, tests, the benchmark)."""
    chosen = plan(conn, now.date(), at=now)
    commit(conn, chosen, compute(conn, chosen), now=now)
    return chosen
