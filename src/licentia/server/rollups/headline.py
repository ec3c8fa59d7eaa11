"""The dashboard's headline figures: the minute's rollups, and the part since its run counted live.

The rollups hold every day up to the minute's last run; what came after it
(installations first seen, activations, events received) is counted live from
its cut-off (``rollups/live.py``), through indexes that read only those
minutes. The two add up to what a live count of everything would say, without
reading the fleet: at ten million installations the page stays fast.
Where the rollups have never run for a product, its period is counted live.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import sqlalchemy as sa

from licentia.core.clock import UTC
from licentia.core.vocabulary import DeviceStatus
from licentia.server.rollups import live
from licentia.server.rollups.service import days_between, series, totals
from licentia.server.store.tables import rollups


@dataclass(frozen=True)
class SinceRollups:
    """Per day, what the rollups do not hold yet (each day at most since the minute's last run)."""

    new_devices: dict[dt.date, int] = field(default_factory=dict)
    conversions: dict[dt.date, int] = field(default_factory=dict)
    events: dict[dt.date, dict[str, int]] = field(default_factory=dict)
    # Activations of the period's cohort (installations first seen since its first day).
    cohort_converted: int = 0

    def add(self, metric: str, found: list[tuple[dt.date, int]], dimension: str = "") -> list[tuple[dt.date, int]]:
        """A rollup series with the live part added."""
        extra: dict[dt.date, int]
        if metric == "events":
            extra = {day: kinds.get(dimension, 0) for day, kinds in self.events.items()}
        else:
            extra = {"new_devices": self.new_devices, "conversions": self.conversions}.get(metric, {})
        return [(day, value + extra.get(day, 0)) for day, value in found]

    def kinds(self, first: dt.date, last: dt.date) -> dict[str, int]:
        summed: dict[str, int] = {}
        for day, kinds in self.events.items():
            if first <= day <= last:
                for kind, count in kinds.items():
                    summed[kind] = summed.get(kind, 0) + count
        return summed


def _cutoff_of(conn: sa.Connection, product_id: int, day: dt.date) -> live.Cutoff | None:
    found = conn.execute(
        sa.select(rollups.c.dimension, rollups.c.value).where(
            rollups.c.product_id == product_id, rollups.c.metric == live.AS_OF, rollups.c.day == day
        )
    )
    return live.Cutoff.of({str(name): int(value) for name, value in found})


def _bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    start = dt.datetime.combine(day, dt.time(), tzinfo=UTC)
    return start, start + dt.timedelta(days=1)


def since_rollups(conn: sa.Connection, *, product_id: int, first: dt.date, today: dt.date) -> SinceRollups:
    """What happened from ``first`` to ``today`` that the product's rollups do not count yet.

    The latest day with rollups counts up to its cut-off when the minute's run
    wrote it (else, a full recompute, the whole day); every day after it is
    counted live from there. Normally that is today, since the last minute.
    """
    latest = conn.execute(
        sa.select(sa.func.max(rollups.c.day)).where(rollups.c.product_id == product_id, rollups.c.day <= today)
    ).scalar()
    cutoff = None
    if latest is None:
        start = first
    else:
        cutoff = _cutoff_of(conn, product_id, latest)
        start = latest if cutoff is not None else latest + dt.timedelta(days=1)
    after, after_id = (cutoff.at, cutoff.event_id) if cutoff is not None else (None, None)
    found, converted = SinceRollups(), 0
    for day in days_between(max(start, first), today):
        begin, end = _bounds(day)
        found.new_devices[day] = live.new_installations(conn, product_id, begin, end, after=after)
        found.conversions[day] = live.conversions(conn, product_id, begin, end, after=after)
        found.events[day] = dict(live.events_by_kind(conn, product_id, begin, end, after_id=after_id))
        by_first_seen = live.converted_by_first_seen(conn, product_id, begin, end, after=after)
        converted += sum(n for seen, n in by_first_seen if seen >= first.isoformat())
    return SinceRollups(found.new_devices, found.conversions, found.events, converted)


def cohort_converted(
    conn: sa.Connection, since: SinceRollups, *, product_id: int, first: dt.date, today: dt.date
) -> int:
    """Activations, since, of the installations first seen from ``first`` on (replacing none)."""
    summed = conn.execute(
        sa.select(sa.func.sum(rollups.c.value)).where(
            rollups.c.product_id == product_id,
            rollups.c.metric == live.CONVERTED_BY_FIRST_SEEN,
            rollups.c.day >= first,
            rollups.c.day <= today,
            rollups.c.dimension >= first.isoformat(),
        )
    ).scalar()
    return int(summed or 0) + since.cohort_converted


def daily(
    conn: sa.Connection,
    since: SinceRollups,
    *,
    product_id: int,
    metric: str,
    first: dt.date,
    last: dt.date,
    dimension: str = "",
) -> list[tuple[dt.date, int]]:
    """One value per day, the rollups' with what came after them."""
    found = series(conn, product_id=product_id, metric=metric, first=first, last=last, dimension=dimension)
    return since.add(metric, found, dimension)


def event_totals(
    conn: sa.Connection, since: SinceRollups, *, product_id: int, first: dt.date, last: dt.date
) -> dict[str, int]:
    """Events per kind over ``first..last``, the rollups' with what came after them."""
    summed = totals(conn, product_id=product_id, metric="events", first=first, last=last)
    for kind, count in since.kinds(first, last).items():
        summed[kind] = summed.get(kind, 0) + count
    return summed


def _last_run(conn: sa.Connection, product_id: int, today: dt.date) -> dt.date | None:
    """The day of the minute's last run (its cut-off) for the product."""
    day = conn.execute(
        sa.select(rollups.c.day)
        .where(
            rollups.c.product_id == product_id,
            rollups.c.metric == live.AS_OF,
            rollups.c.dimension == live.AT,
            rollups.c.day <= today,
        )
        .order_by(rollups.c.day.desc())
        .limit(1)
    ).scalar()
    return day if isinstance(day, dt.date) or day is None else dt.date.fromisoformat(str(day))


def full_licenses(conn: sa.Connection, *, product_id: int, today: dt.date) -> tuple[int, list[int]] | None:
    """The minute's seat-limit queue: how many licenses were full, and the newest few; None before its first run."""
    day = _last_run(conn, product_id, today)
    if day is None:
        return None
    rows = conn.execute(
        sa.select(rollups.c.metric, rollups.c.value).where(
            rollups.c.product_id == product_id,
            rollups.c.day == day,
            rollups.c.metric.in_((live.LICENSES_FULL, live.LICENSES_FULL_NEWEST)),
        )
    ).all()
    count = sum(int(value) for metric, value in rows if metric == live.LICENSES_FULL)
    return count, sorted((int(value) for metric, value in rows if metric == live.LICENSES_FULL_NEWEST), reverse=True)


def statuses(conn: sa.Connection, *, product_id: int, today: dt.date) -> dict[str, int]:
    """Installations now by status (a lineage once) and in all (``devices``).

    The minute's last count by status, with the installations first seen since
    it; an installation whose status changed since shows it at the next run.
    """
    day = _last_run(conn, product_id, today)
    cutoff = None if day is None else _cutoff_of(conn, product_id, day)
    if day is None or cutoff is None:
        found = live.statuses_live(conn, product_id)
    else:
        rows = conn.execute(
            sa.select(rollups.c.dimension, rollups.c.value).where(
                rollups.c.product_id == product_id, rollups.c.metric == live.STATUS_NOW, rollups.c.day == day
            )
        )
        found = {str(status): int(count) for status, count in rows}
        for status, change in live.statuses_since(conn, product_id, cutoff.at).items():
            found[status] = found.get(status, 0) + change
    counted = {status.value: found.get(status.value, 0) for status in DeviceStatus}
    return {**counted, "devices": sum(found.values())}
