"""(Re)computing daily rollups from events and devices.

Dashboards never scan the events table (it grows without bound, docs/design.md
section 4); they read ``daily_rollups``. A day's rows are deleted and rewritten in
one transaction, so recomputing is idempotent and a reader never sees half a
day. Today is recomputed every minute by a startup task, past days by
``licentia rollup`` and by the demo.

Metrics (``dimension`` is ``""`` unless said). A lineage (an installation and the
reinstalls recognised without its credential, docs/design.md section 5) counts as
one installation in every one of them:

- ``new_devices``: devices first seen that day (a recognised reinstall is not new).
- ``events``: events received that day, dimension = kind.
- ``active_1d`` / ``active_7d`` / ``active_30d``: distinct devices with a
  daily ``check`` in the window ending that day.
- ``conversions``: devices activated (bound to a license) that day, less the
  reinstalls whose lineage was licensed before (presenting the key again).
- ``devices``: devices existing at the end of the day by state
  (``trial``, ``trial_expired``, ``registered``, ``blocked``); rebuilt from
  first-seen, activation and trial-end times, so a past day recomputed later
  reflects seats freed since.
- ``versions_7d`` / ``os_7d``: distinct devices active in the last 7 days by
  the app version they reported / by their operating system.
- ``licenses_sold``, ``unlicensed_active``, ``copies_active``: the piracy
  ratio's figures (``rollups/piracy.py``; what they mean: ``rollups/ratio.py``).
- ``status_now`` (dimension = status) and ``as_of``: written for today only, by
  the minute's run and by a recompute given its moment (``refresh(..., now=)``),
  the installations by status and the cut-off, so the dashboard's headline counts
  add only what came after (``rollups/live.py``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa

from licentia.core.clock import UTC
from licentia.core.vocabulary import EventKind
from licentia.server.devices.lineage import heads
from licentia.server.rollups import live as live_counts
from licentia.server.rollups import piracy
from licentia.server.rollups.ratio import COPIES_ACTIVE, LICENSES_SOLD, UNLICENSED_ACTIVE
from licentia.server.store.tables import devices, events, machines, products, rollups

UNKNOWN = "unknown"


def _bounds(day: dt.date, days: int = 1) -> tuple[dt.datetime, dt.datetime]:
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=UTC)
    return end - dt.timedelta(days=days), end


def compute_days(
    conn: sa.Connection, days: list[dt.date], *, today: dt.date | None = None, cutoff: live_counts.Cutoff | None = None
) -> list[dict[str, Any]]:
    """Every rollup row of ``days``, for every product.

    ``today``, when given and among ``days``, has its active-device windows
    counted from the installations' last-seen day (an indexed count) instead of
    30 days of check events: the minute task recomputes today all day long.
    The two agree: every day an installation is seen writes its ``check`` event.

    ``cutoff`` (the minute's run) bounds today's additive counts and is written
    beside them with the count by status (``rollups/live.py``), so the dashboard
    adds only what came after it.
    """
    rows: list[dict[str, Any]] = []
    past = [day for day in days if day != today]
    for product_id in conn.execute(sa.select(products.c.id)).scalars():
        active = _active_windows(conn, product_id, past)
        if today is not None and today in days:
            active[today] = _active_today(conn, product_id, today)
        for day in days:
            is_today = today is not None and day == today
            bound = cutoff if is_today else None
            rows.extend(_product_day(conn, product_id, day, active.get(day, {}), live=is_today, cutoff=bound))
    return rows


def _active_today(conn: sa.Connection, product_id: int, today: dt.date) -> dict[str, list[tuple[str, int]]]:
    """The windows ending today, from ``devices.seen_day`` (the (product_id, seen_day) index)."""
    of_product = devices.c.product_id == product_id
    found: dict[str, list[tuple[str, int]]] = {}
    for width in (1, 7, 30):
        since = today - dt.timedelta(days=width - 1)
        count = heads(conn, of_product, devices.c.seen_day >= since, devices.c.seen_day <= today)
        found[f"active_{width}d"] = [("", count)]
    week = sa.and_(
        of_product,
        devices.c.seen_day >= today - dt.timedelta(days=6),
        devices.c.seen_day <= today,
        devices.c.superseded_by.is_(None),
    )
    for metric, column in (("versions_7d", devices.c.app_version), ("os_7d", devices.c.os_name)):
        shares: dict[str, int] = {}
        for value, count in conn.execute(sa.select(column, sa.func.count()).where(week).group_by(column)):
            name = value or UNKNOWN
            shares[name] = shares.get(name, 0) + int(count)
        found[metric] = sorted(shares.items())
    return found


def _active_windows(
    conn: sa.Connection, product_id: int, days: list[dt.date]
) -> dict[dt.date, dict[str, list[tuple[str, int]]]]:
    """Distinct-device metrics over sliding windows, from one read of the daily ``check`` events.

    Checks are written at most once a day per device, so this reads one row per
    device-day of the 30 days before the last day, once for all ``days``.
    """
    if not days:
        return {}
    start, _ = _bounds(min(days), 30)
    _, end = _bounds(max(days))
    seen: dict[dt.date, dict[str, str]] = {}
    query = sa.select(events.c.device_id, events.c.received_at, events.c.data["app_version"].as_string()).where(
        events.c.product_id == product_id,
        events.c.received_at >= start,
        events.c.received_at < end,
        events.c.kind == EventKind.CHECK,
    )
    os_query = sa.select(devices.c.id, devices.c.os_name, devices.c.superseded_by).where(
        devices.c.product_id == product_id
    )
    os_of: dict[str, str | None] = {}
    successor: dict[str, str] = {}
    for device_id, os_name, superseded_by in conn.execute(os_query):
        os_of[device_id] = os_name
        if superseded_by is not None:
            successor[device_id] = superseded_by
    for device_id, received_at, version in conn.execute(query):
        # A replaced installation's checks count for its lineage's latest: one installation.
        seen.setdefault(received_at.date(), {})[_latest(device_id, successor)] = version or UNKNOWN
    pirates = piracy.PastFigures.load(
        conn, product_id, days, successor=successor, latest=lambda device_id: _latest(device_id, successor)
    ).counts(days, seen)
    found: dict[dt.date, dict[str, list[tuple[str, int]]]] = {}
    for day in days:
        windows: dict[int, dict[str, str]] = {}
        for width in (1, 7, 30):
            merged: dict[str, str] = {}
            for back in range(width - 1, -1, -1):  # oldest first: the newest version wins
                merged.update(seen.get(day - dt.timedelta(days=back), {}))
            windows[width] = merged
        versions: dict[str, int] = {}
        systems: dict[str, int] = {}
        for device_id, version in windows[7].items():
            versions[version] = versions.get(version, 0) + 1
            os_name = os_of.get(device_id) or UNKNOWN
            systems[os_name] = systems.get(os_name, 0) + 1
        found[day] = {
            **{f"active_{w}d": [("", len(windows[w]))] for w in (1, 7, 30)},
            "versions_7d": sorted(versions.items()),
            "os_7d": sorted(systems.items()),
            **pirates[day],
        }
    return found


def _latest(device_id: str, successor: dict[str, str]) -> str:
    """The latest installation of ``device_id``'s lineage (the end of its ``superseded_by`` links)."""
    seen = {device_id}
    while (after := successor.get(device_id)) is not None and after not in seen:
        seen.add(after)
        device_id = after
    return device_id


def _product_day(
    conn: sa.Connection,
    product_id: int,
    day: dt.date,
    active: dict[str, list[tuple[str, int]]],
    *,
    live: bool,
    cutoff: live_counts.Cutoff | None = None,
) -> list[dict[str, Any]]:
    # One product at a time, so every events query rides the (product_id, received_at) index.
    start, end = _bounds(day)
    found: list[tuple[str, Iterable[tuple[int, str, int]]]] = []
    device_of_product = devices.c.product_id == product_id
    until, through = (cutoff.at, cutoff.event_id) if cutoff else (None, None)

    new = live_counts.new_installations(conn, product_id, start, end, until=until)
    found.append(("new_devices", [(product_id, "", new)]))
    by_kind = live_counts.events_by_kind(conn, product_id, start, end, through_id=through)
    found.append(("events", [(product_id, kind, count) for kind, count in by_kind]))
    for metric, pairs in active.items():
        found.append((metric, [(product_id, dimension, value) for dimension, value in pairs]))
    converted = live_counts.conversions(conn, product_id, start, end, until=until)
    found.append(("conversions", [(product_id, "", converted)]))
    by_first_seen = live_counts.converted_by_first_seen(conn, product_id, start, end, until=until)
    found.append((live_counts.CONVERTED_BY_FIRST_SEEN, [(product_id, day, count) for day, count in by_first_seen]))
    if cutoff is not None:
        statuses = live_counts.statuses_by(conn, product_id, cutoff.at)
        found.append((live_counts.STATUS_NOW, [(product_id, status, count) for status, count in statuses]))
        full, *newest = live_counts.full_licenses(conn, product_id)
        found.append((live_counts.LICENSES_FULL, [(product_id, "", full[1])]))
        found.append((live_counts.LICENSES_FULL_NEWEST, [(product_id, name, i) for name, i in newest]))
        found.append((live_counts.AS_OF, [(product_id, name, value) for name, value in cutoff.rows()]))

    registered = sa.and_(devices.c.license_id.is_not(None), devices.c.activated_at < end)
    state = sa.case(
        (devices.c.status == "blocked", "blocked"),
        (registered, "registered"),
        (sa.or_(machines.c.trial_end.is_(None), machines.c.trial_end >= end), "trial"),
        else_="trial_expired",
    )
    # Today's piracy figures ride on this read of every installation (``live``); a past day's come with its windows.
    figures = piracy.live_columns(day) if live else (sa.literal_column("0"), sa.literal_column("0"))
    snapshot = (
        sa.select(devices.c.product_id, state, sa.func.count(), *figures)
        .join(machines, machines.c.id == devices.c.machine_id)
        .where(device_of_product, devices.c.first_seen < end)
        .group_by(devices.c.product_id, state)
    )
    # A lineage is counted by its latest installation that day: the rows not replaced, and the few
    # replaced only after the day ended (read through the partial index on the replaced ones).
    successor = devices.alias("successor")
    by_state: dict[tuple[int, str], int] = {}
    unlicensed = copies = 0
    for query in (
        snapshot.where(devices.c.superseded_by.is_(None)),
        snapshot.join(successor, successor.c.id == devices.c.superseded_by).where(successor.c.first_seen >= end),
    ):
        for product, name, count, pirates, copied in conn.execute(query):
            by_state[product, name] = by_state.get((product, name), 0) + int(count)
            unlicensed, copies = unlicensed + int(pirates or 0), copies + int(copied or 0)
    found.append(("devices", [(product, name, count) for (product, name), count in by_state.items()]))
    if live:
        found += [(UNLICENSED_ACTIVE, [(product_id, "", unlicensed)]), (COPIES_ACTIVE, [(product_id, "", copies)])]
    found.append((LICENSES_SOLD, [(product_id, "", piracy.licenses_sold(conn, product_id, day))]))

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


def refresh(conn: sa.Connection, days: Iterable[dt.date], *, now: dt.datetime | None = None) -> int:
    """Recompute ``days`` (delete then insert, one transaction); return the rows written.

    With ``now``, today (when among ``days``) is counted as the minute's run counts it: up
    to ``now``, with that cut-off written beside it (and the counts by status, the full
    licenses, today's piracy figures). Without one, the dashboard would take a day that is
    not over for done, and miss what came after the recompute until the minute's next run.
    """
    chosen = sorted(set(days))
    today, cutoff = None, None
    if now is not None and now.date() in chosen:
        today = now.date()
        cutoff = live_counts.Cutoff(now, last_event_id(conn))
    written = 0
    for first in range(0, len(chosen), 31):
        batch = chosen[first : first + 31]
        written += replace_days(conn, batch, compute_days(conn, batch, today=today, cutoff=cutoff))
    return written


def last_event_id(conn: sa.Connection) -> int:
    """The id of the newest event (0 with none): how far a cut-off's event counts go."""
    return int(conn.execute(sa.select(sa.func.max(events.c.id))).scalar() or 0)


def replace_days(conn: sa.Connection, days: list[dt.date], rows: list[dict[str, Any]]) -> int:
    """Swap in freshly computed rows for ``days``; short, so it holds the write lock briefly."""
    if conn.dialect.name == "postgresql":
        # Every worker runs the minute task; one at a time avoids duplicate-key races.
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(7243001)"))
    conn.execute(rollups.delete().where(rollups.c.day.in_(days)))
    if rows:
        conn.execute(rollups.insert(), rows)
    return len(rows)


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
    found = {
        day: value
        for day, value in conn.execute(
            sa.select(rollups.c.day, rollups.c.value).where(
                rollups.c.product_id == product_id,
                rollups.c.metric == metric,
                rollups.c.dimension == dimension,
                rollups.c.day >= first,
                rollups.c.day <= last,
            )
        )
    }
    return [(day, int(found.get(day, 0))) for day in days_between(first, last)]


def breakdown(conn: sa.Connection, *, product_id: int, metric: str, day: dt.date) -> list[tuple[str, int]]:
    """A metric's dimensions on ``day``, largest first."""
    rows = conn.execute(
        sa.select(rollups.c.dimension, rollups.c.value)
        .where(rollups.c.product_id == product_id, rollups.c.metric == metric, rollups.c.day == day)
        .order_by(rollups.c.value.desc(), rollups.c.dimension)
    )
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
    )
    return {str(d): int(v or 0) for d, v in rows}
