"""The piracy ratio's daily figures in the rollups: licenses sold, unlicensed users, suspected copies.

What they mean is said once, in ``rollups/ratio.py`` (and docs/evidence.md). Per product and day:

- ``licenses_sold``: licenses issued by the end of the day and not revoked;
- ``unlicensed_active``: installations active in the 30 days ending that day (a lineage counted once, as the
  installation it was that day) that held no license that day and were used on a later day than the one
  their trial ended, or are suspected copies;
- ``copies_active``: active installations flagged as suspected copies.

Today's figures, which the minute's run recomputes, come from the installations' last-seen day inside the
count of installations by state that already reads every one of them (``live_columns``): no read of their
own. A past day's come from the 30 days of daily check events its active windows already read, and from
one read of the installations that could count: seen in the window, and flagged or unlicensed with their
trial over (``PastFigures``). Both judge "used after the trial ended" by the
day, so the minute's figures and a recompute agree. A day recomputed later reads each installation's
license, trial end and copy flag as they are then, as the count by state does.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import sqlalchemy as sa

from licentia.core.clock import UTC
from licentia.core.status import LicenseState
from licentia.server.rollups.ratio import ACTIVE_DAYS, COPIES_ACTIVE, METRICS, UNLICENSED_ACTIVE, ratio_days
from licentia.server.store.tables import devices, licenses, machines, rollups

# Ids bound per query (SQLite's variable limit is 32766), and the longest reinstall chain followed.
_CHUNK = 500
_MAX_CHAIN = 50


def _end(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=UTC)


def _unlicensed(end: dt.datetime) -> Any:
    """Held no license at ``end``: none now, or activated only later (as the count by state reads "registered")."""
    return sa.or_(devices.c.license_id.is_(None), devices.c.activated_at.is_(None), devices.c.activated_at >= end)


def licenses_sold(conn: sa.Connection, product_id: int, day: dt.date) -> int:
    """Licenses of the product issued by the end of ``day`` and not revoked."""
    query = sa.select(sa.func.count()).where(
        licenses.c.product_id == product_id,
        licenses.c.created_at < _end(day),
        licenses.c.state != LicenseState.REVOKED.value,
    )
    return int(conn.execute(query).scalar_one())


def live_columns(today: dt.date) -> tuple[Any, Any]:
    """``unlicensed_active`` and ``copies_active`` of ``today`` as sums over installations joined to machines.

    Added to the count by state, which reads the product's installations (not
    the replaced ones) with their machines: each row's last-seen day says
    whether it is active and whether it was used after its trial's last day.
    """
    active = devices.c.seen_day >= today - dt.timedelta(days=ACTIVE_DAYS - 1)
    copy = devices.c.clone_suspected.is_(True)
    # date() is a function on both databases; SQLite compares its ISO text with the stored day's.
    used_after_trial = sa.func.date(machines.c.trial_end) < devices.c.seen_day
    unlicensed = sa.and_(active, _unlicensed(_end(today)), sa.or_(copy, used_after_trial))
    return (
        sa.func.sum(sa.case((unlicensed, 1), else_=0)),
        sa.func.sum(sa.case((sa.and_(active, copy), 1), else_=0)),
    )


class PastFigures:
    """``unlicensed_active`` and ``copies_active`` of past days, judged from the days each lineage was seen."""

    def __init__(
        self,
        candidates: Mapping[str, tuple[dt.date | None, bool, dt.date | None]],
        keys: set[str],
        predecessor: Mapping[str, str],
        first_seen: Mapping[str, dt.datetime],
    ) -> None:
        self.candidates = candidates  # device id -> (day licensed, copy flag, day the trial ended)
        self.keys = keys  # the lineages (by their latest installation) some candidate belongs to
        self.predecessor = predecessor
        self.first_seen = first_seen  # of the installations in a reinstall chain

    @classmethod
    def load(
        cls, conn: sa.Connection, product_id: int, days: list[dt.date], *, successor: Mapping[str, str],
        latest: Callable[[str], str],
    ) -> PastFigures:  # fmt: skip
        """The installations that could count on one of ``days``: seen in its window, and flagged or unlicensed
        at some point of it with their trial over by its end; and the first-seen times of reinstall chains."""
        first, last = min(days), max(days)
        # Days, not times: "licensed by the end of D" is "activated on D or before", and no time is decoded.
        licensed_on = sa.case((devices.c.license_id.is_not(None), sa.func.date(devices.c.activated_at)))
        query = (
            sa.select(devices.c.id, licensed_on, devices.c.clone_suspected, sa.func.date(machines.c.trial_end))
            .join(machines, machines.c.id == devices.c.machine_id)
            .where(
                devices.c.product_id == product_id,
                devices.c.seen_day >= first - dt.timedelta(days=ACTIVE_DAYS - 1),
                sa.or_(
                    devices.c.clone_suspected.is_(True),
                    sa.and_(machines.c.trial_end < _end(last), _unlicensed(_end(first))),
                ),
            )
        )
        candidates = {
            device_id: (_day(licensed), bool(copy), _day(trial_ended))
            for device_id, licensed, copy, trial_ended in conn.execute(query)
        }
        members = sorted({*successor, *successor.values()})
        first_seen: dict[str, dt.datetime] = {}
        for start in range(0, len(members), _CHUNK):
            chunk = members[start : start + _CHUNK]
            found = conn.execute(sa.select(devices.c.id, devices.c.first_seen).where(devices.c.id.in_(chunk)))
            first_seen.update((device_id, seen) for device_id, seen in found)
        predecessor = {after: before for before, after in successor.items()}
        return cls(candidates, {latest(device_id) for device_id in candidates}, predecessor, first_seen)

    def _member_at(self, key: str, end: dt.datetime) -> str:
        """The installation a lineage was at ``end``: its latest one first seen before then."""
        member = key
        for _ in range(_MAX_CHAIN):
            before = self.predecessor.get(member)
            seen = self.first_seen.get(member)
            if before is None or seen is None or seen < end:
                break
            member = before
        return member

    def counts(
        self, days: list[dt.date], seen: Mapping[dt.date, Iterable[str]]
    ) -> dict[dt.date, dict[str, list[tuple[str, int]]]]:
        """The two figures of each of ``days``; ``seen``: the lineages (by their latest installation) seen each day.

        Each sighting of a candidate is the last one for the days from it to the
        next (30 at most): it adds 1 to those days at once (a difference array),
        so the cost is the candidates' sightings, not the days times the candidates.
        """
        if not days:
            return {}
        first, last = min(days) - dt.timedelta(days=ACTIVE_DAYS - 1), max(days)
        span = (last - first).days + 1
        sightings: dict[str, list[int]] = {}
        for offset in range(span):
            for key in seen.get(first + dt.timedelta(days=offset), ()):
                if key in self.keys:
                    sightings.setdefault(key, []).append(offset)
        added = {UNLICENSED_ACTIVE: [0] * (span + 1), COPIES_ACTIVE: [0] * (span + 1)}
        for key, offsets in sightings.items():
            for n, on in enumerate(offsets):
                until = min(offsets[n + 1] - 1 if n + 1 < len(offsets) else span - 1, on + ACTIVE_DAYS - 1)
                self._add(added, key, first, on, until)
        found: dict[dt.date, dict[str, list[tuple[str, int]]]] = {}
        wanted = set(days)
        for metric, changes in added.items():
            total = 0
            for offset in range(span):
                total += changes[offset]
                day = first + dt.timedelta(days=offset)
                if day in wanted:
                    found.setdefault(day, {})[metric] = [("", total)]
        return found

    def _add(self, added: dict[str, list[int]], key: str, first: dt.date, on: int, until: int) -> None:
        """Count ``key`` on the days ``first + on .. first + until``, whose last sighting is ``first + on``."""
        last = first + dt.timedelta(days=on)
        for start, stop, member in self._members(key, first, on, until):
            found = self.candidates.get(member)
            if found is None:
                continue
            licensed_on, copy, trial_ended = found
            if copy:
                added[COPIES_ACTIVE][start] += 1
                added[COPIES_ACTIVE][stop + 1] -= 1
            if copy or (trial_ended is not None and trial_ended < last):
                # Counted until the day before its license (the license's day, at its end, is licensed).
                if licensed_on is not None:
                    stop = min(stop, (licensed_on - first).days - 1)
                if stop >= start:
                    added[UNLICENSED_ACTIVE][start] += 1
                    added[UNLICENSED_ACTIVE][stop + 1] -= 1

    def _members(self, key: str, first: dt.date, on: int, until: int) -> Iterable[tuple[int, int, str]]:
        """Which installation the lineage ``key`` was on each of the days ``on .. until``: runs of days."""
        if key not in self.first_seen:  # no reinstall chain (nearly all): itself, every day
            yield on, until, key
            return
        runs: list[tuple[int, int, str]] = []
        for offset in range(on, until + 1):
            member = self._member_at(key, _end(first + dt.timedelta(days=offset)))
            if runs and runs[-1][2] == member:
                runs[-1] = (runs[-1][0], offset, member)
            else:
                runs.append((offset, offset, member))
        yield from runs


def _day(value: Any) -> dt.date | None:
    """A ``date()`` as the database answers it: a date (PostgreSQL) or its ISO text (SQLite)."""
    if value is None or isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value))


def ratio_series(conn: sa.Connection, *, product_id: int, first: dt.date, last: dt.date) -> list[dict[str, Any]]:
    """The ratio's figures of every day from ``first`` to ``last``, from the rollups (``rollups/ratio.py``)."""
    rows = conn.execute(
        sa.select(rollups.c.day, rollups.c.metric, rollups.c.value).where(
            rollups.c.product_id == product_id,
            rollups.c.metric.in_(METRICS),
            rollups.c.dimension == "",
            rollups.c.day >= first,
            rollups.c.day <= last,
        )
    )
    return ratio_days({(day, str(metric)): int(value) for day, metric, value in rows}, first, last)
