"""The counts the minute's run and the dashboard share: each bounded by the run's cut-off.

The minute's run counts today up to a cut-off (its ``Cutoff``: the moment it
started and the last event it saw) and writes the cut-off beside its rows
(metric ``as_of``). The dashboard reads those rows and counts live only what
came after the cut-off: installations first seen since, activations since,
events with a larger id. Each of these reads an index over the minutes since
the run, never the whole fleet, and the two parts add up to a live count.

``status_now`` is the minute's count of installations by their status (a
lineage counted once, as ``heads`` counts them), of those first seen by the
cut-off: the dashboard adds the installations first seen since and takes
away the ones they replaced. An installation whose status changes later
(a check that ends its trial, a block) moves at the next run.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from licentia.server.devices.lineage import heads, reactivated
from licentia.server.licenses import seats
from licentia.server.store.tables import devices, events

AS_OF = "as_of"
STATUS_NOW = "status_now"
# The seat-limit work queue: how many active licenses are full, and the newest few (dimension: the id).
LICENSES_FULL, LICENSES_FULL_NEWEST = "licenses_full", "licenses_full_newest"
FULL_SHOWN = 8
# Activations of installations not replacing another (the cohort's conversions), by the day each was
# first seen (dimension: that day, ISO): a period's cohort sums those of its own days.
CONVERTED_BY_FIRST_SEEN = "conversions_by_first_seen"
# The dimensions of ``as_of``: the cut-off in microseconds since 1970 (exact, as the rows compare it), and
# the last event id counted.
AT, EVENT_ID = "time", "event_id"
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MICROSECOND = dt.timedelta(microseconds=1)
# The minute's own rows: a full recompute (``licentia rollup``) has no "now" and writes neither.
MINUTE_METRICS = (AS_OF, STATUS_NOW, LICENSES_FULL, LICENSES_FULL_NEWEST)


@dataclass(frozen=True)
class Cutoff:
    """How far a minute's run counted: installations and activations up to ``at``, events up to ``event_id``."""

    at: dt.datetime
    event_id: int

    def rows(self) -> list[tuple[str, int]]:
        return [(AT, (self.at - _EPOCH) // _MICROSECOND), (EVENT_ID, self.event_id)]

    @classmethod
    def of(cls, found: dict[str, int]) -> Cutoff | None:
        if AT not in found:
            return None
        return cls(_EPOCH + found[AT] * _MICROSECOND, found.get(EVENT_ID, 0))


def _within(column: Any, start: dt.datetime, end: dt.datetime, after: dt.datetime | None, until: Any) -> list[Any]:
    """``start <= column < end``, and past ``after`` / up to ``until`` when given (the cut-off's two sides)."""
    bounds = [column >= start, column < end]
    if after is not None:
        bounds.append(column > after)
    if until is not None:
        bounds.append(column <= until)
    return bounds


def new_installations(
    conn: sa.Connection,
    product_id: int,
    start: dt.datetime,
    end: dt.datetime,
    *,
    after: dt.datetime | None = None,
    until: dt.datetime | None = None,
) -> int:
    """Installations first seen in the range (a recognised reinstall is not new)."""
    query = sa.select(sa.func.count()).where(
        devices.c.product_id == product_id,
        *_within(devices.c.first_seen, start, end, after, until),
        devices.c.previous_id.is_(None),
    )
    return int(conn.execute(query).scalar_one())


def conversions(
    conn: sa.Connection,
    product_id: int,
    start: dt.datetime,
    end: dt.datetime,
    *,
    after: dt.datetime | None = None,
    until: dt.datetime | None = None,
) -> int:
    """Activations in the range, less the reinstalls whose lineage was licensed before (the key presented again)."""
    activated = sa.and_(devices.c.product_id == product_id, *_within(devices.c.activated_at, start, end, after, until))
    converted = conn.execute(sa.select(sa.func.count()).where(activated)).scalar_one()
    successors = conn.execute(
        sa.select(devices.c.id, devices.c.previous_id, devices.c.activated_at).where(
            activated, devices.c.previous_id.is_not(None)
        )
    ).all()
    return int(converted) - reactivated(conn, successors)


def converted_by_first_seen(
    conn: sa.Connection,
    product_id: int,
    start: dt.datetime,
    end: dt.datetime,
    *,
    after: dt.datetime | None = None,
    until: dt.datetime | None = None,
) -> list[tuple[str, int]]:
    """Activations in the range of installations that replaced none, by the day each was first seen."""
    first_day = sa.func.date(devices.c.first_seen)  # a function on both databases; SQLite answers text
    query = (
        sa.select(first_day, sa.func.count())
        .where(
            devices.c.product_id == product_id,
            *_within(devices.c.activated_at, start, end, after, until),
            devices.c.previous_id.is_(None),
        )
        .group_by(first_day)
    )
    return [(value if isinstance(value, str) else value.isoformat(), int(n)) for value, n in conn.execute(query)]


def full_licenses(conn: sa.Connection, product_id: int) -> list[tuple[str, int]]:
    """The minute's seat-limit queue: how many licenses are full, and the newest few by id."""
    ids = [int(row.id) for row in conn.execute(seats.full_licenses(product_id))]
    return [(LICENSES_FULL, len(ids))] + [(f"{i}", i) for i in ids[:FULL_SHOWN]]


def events_by_kind(
    conn: sa.Connection,
    product_id: int,
    start: dt.datetime,
    end: dt.datetime,
    *,
    after_id: int | None = None,
    through_id: int | None = None,
) -> Iterable[tuple[str, int]]:
    """Events received in the range, per kind; past ``after_id`` / up to ``through_id`` when given."""
    query = sa.select(events.c.kind, sa.func.count()).where(
        events.c.product_id == product_id, events.c.received_at >= start, events.c.received_at < end
    )
    if after_id is not None:
        query = query.where(events.c.id > after_id)
    if through_id is not None:
        query = query.where(events.c.id <= through_id)
    return [(str(kind), int(count)) for kind, count in conn.execute(query.group_by(events.c.kind))]


def statuses_by(conn: sa.Connection, product_id: int, cutoff: dt.datetime) -> list[tuple[str, int]]:
    """The minute's ``status_now``: installations first seen by ``cutoff`` by status, each lineage once.

    A lineage is counted by its latest installation at the cut-off: the rows not
    replaced, and the few replaced only after it (read through the partial index
    on the replaced ones).
    """
    of_product = sa.and_(devices.c.product_id == product_id, devices.c.first_seen <= cutoff)
    found: dict[str, int] = {}
    unreplaced = (
        sa.select(devices.c.status, sa.func.count())
        .where(of_product, devices.c.superseded_by.is_(None))
        .group_by(devices.c.status)
    )
    successor = devices.alias("successor")
    replaced_later = (
        sa.select(devices.c.status, sa.func.count())
        .join(successor, successor.c.id == devices.c.superseded_by)
        .where(of_product, devices.c.superseded_by.is_not(None), successor.c.first_seen > cutoff)
        .group_by(devices.c.status)
    )
    for query in (unreplaced, replaced_later):
        for status, count in conn.execute(query):
            found[str(status)] = found.get(str(status), 0) + int(count)
    return sorted(found.items())


def statuses_since(conn: sa.Connection, product_id: int, cutoff: dt.datetime) -> dict[str, int]:
    """What installations first seen after ``cutoff`` change in the count by status.

    Each one not replaced counts; each installation of before the cut-off that
    one of them replaced no longer does (a lineage stays one).
    """
    change: dict[str, int] = {}
    new = sa.and_(devices.c.product_id == product_id, devices.c.first_seen > cutoff)
    added = sa.select(devices.c.status, sa.func.count()).where(new, devices.c.superseded_by.is_(None))
    previous = devices.alias("previous")
    gone = (
        sa.select(previous.c.status, sa.func.count())
        .select_from(devices.join(previous, previous.c.id == devices.c.previous_id))
        .where(new, previous.c.first_seen <= cutoff)
    )
    for query, sign in ((added.group_by(devices.c.status), 1), (gone.group_by(previous.c.status), -1)):
        for status, count in conn.execute(query):
            change[str(status)] = change.get(str(status), 0) + sign * int(count)
    return change


def statuses_live(conn: sa.Connection, product_id: int) -> dict[str, int]:
    """Every installation of the product by status, counted now (a product the minute has not counted yet)."""
    found = {}
    of_product = devices.c.product_id == product_id
    for (status,) in conn.execute(sa.select(devices.c.status).where(of_product).group_by(devices.c.status)):
        found[str(status)] = heads(conn, of_product, devices.c.status == status)
    return found
