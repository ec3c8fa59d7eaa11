"""Which period of a meter an instant falls in: pure functions, no database.

Periods follow the UTC calendar, the same for every license of a type: a day
starts at midnight UTC, a week on Monday (ISO 8601), a month on its first
day, a year on 1 January; ``lifetime`` never resets. Calendar periods are
what a vendor bills by and what a customer reads on an invoice ("1000 renders
in March"); a license issued mid-period gets the whole limit for the rest of
that period.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from licentia.core.clock import UTC
from licentia.server.policies.choices import MeterPeriod

PERIODS = tuple(MeterPeriod)
# The one period of a lifetime meter starts here (a fixed key for its usage row).
LIFETIME_START = dt.datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Period:
    start: dt.datetime
    end: dt.datetime | None  # None: a lifetime meter never resets


def period_at(kind: str, now: dt.datetime) -> Period:
    """The period of kind ``kind`` that holds ``now`` (an aware datetime)."""
    now = now.astimezone(UTC)
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    if kind == MeterPeriod.DAY:
        return Period(midnight, midnight + dt.timedelta(days=1))
    if kind == MeterPeriod.WEEK:
        start = midnight - dt.timedelta(days=midnight.weekday())
        return Period(start, start + dt.timedelta(days=7))
    if kind == MeterPeriod.MONTH:
        start = midnight.replace(day=1)
        if start.month == 12:
            return Period(start, start.replace(year=start.year + 1, month=1))
        return Period(start, start.replace(month=start.month + 1))
    if kind == MeterPeriod.YEAR:
        start = midnight.replace(month=1, day=1)
        return Period(start, start.replace(year=start.year + 1))
    if kind == MeterPeriod.LIFETIME:
        return Period(LIFETIME_START, None)
    raise ValueError(f"unknown meter period {kind!r}")
