"""The dashboard: what a vendor looks at every morning, read from daily rollups.

Today's figures are the minute's rollups with what came after its run
counted live (``rollups/headline.py``): nothing here reads the whole fleet.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from markupsafe import Markup

from licentia.core.vocabulary import PIRACY_EVENT_KINDS, DeviceStatus, EventKind
from licentia.server.admin.dashboard import charts
from licentia.server.devices.lineage import converted_later
from licentia.server.rollups import ratio
from licentia.server.rollups.headline import cohort_converted, event_totals, since_rollups
from licentia.server.rollups.headline import daily as headline_daily
from licentia.server.rollups.piracy import ratio_series
from licentia.server.rollups.service import breakdown, series, totals
from licentia.server.store.tables import devices

PERIODS = (7, 30, 90)
PIRACY_KINDS = tuple(sorted(PIRACY_EVENT_KINDS))
# What the piracy chart calls each signal (the event kinds are the API's words, not a vendor's).
PIRACY_LABELS = {EventKind.CLONE_SUSPECTED: "Suspected copies", EventKind.INVALID_KEY: "Invalid keys"}


def cohort(
    conn: sa.Connection,
    *,
    product_id: int,
    first: dt.date,
    today: dt.date,
    size: int | None = None,
    converted: int | None = None,
) -> dict[str, Any]:
    """Conversion per trial cohort: of the installations first seen in the period, how many activated since.

    Unlike activations per day over installs per day (which mixes this
    period's purchases with last period's trials), this follows one group.
    A lineage is one member, from its first installation: a reinstall
    recognised later is not a new member, and its activation converts the
    member it replaced. ``size`` and ``converted``, when given, come from the
    rollups (the period's new installations, and the activations of those
    first seen in it); else the members are counted.
    """
    start = dt.datetime.combine(first, dt.time(), tzinfo=dt.UTC)
    # Installations first seen since ``first`` were last seen since then too: seen_day narrows by its index.
    member = sa.and_(
        devices.c.product_id == product_id,
        devices.c.seen_day >= first,
        devices.c.first_seen >= start,
        devices.c.previous_id.is_(None),
    )
    if size is None:
        size = int(conn.execute(sa.select(sa.func.count()).where(member)).scalar_one())
    if converted is None:
        converted = int(conn.execute(sa.select(sa.func.count(devices.c.activated_at)).where(member)).scalar_one())
    # The few members replaced by a reinstall, not activated themselves: did the reinstall convert?
    unconverted = conn.execute(
        sa.select(devices.c.superseded_by).where(
            member, devices.c.superseded_by.is_not(None), devices.c.activated_at.is_(None)
        )
    ).all()
    converted += converted_later(conn, unconverted)
    return {
        "size": size,
        "converted": converted,
        "rate": (100.0 * converted / size) if size else None,
        "first": first,
        "today": today,
    }


def dashboard(conn: sa.Connection, *, product_id: int, today: dt.date, days: int) -> dict[str, Any]:
    first = today - dt.timedelta(days=days - 1)
    before_first, before_last = first - dt.timedelta(days=days), first - dt.timedelta(days=1)

    # Today since the minute's last run (and any day after the rollups' last), counted live.
    since = since_rollups(conn, product_id=product_id, first=first, today=today)

    def daily(metric: str, dimension: str = "") -> list[tuple[dt.date, int]]:
        return headline_daily(
            conn, since, product_id=product_id, metric=metric, first=first, last=today, dimension=dimension
        )

    def earlier(metric: str, dimension: str = "") -> list[int]:
        """The same metric over the previous period of the same length (for each tile's change)."""
        found = series(
            conn, product_id=product_id, metric=metric, first=before_first, last=before_last, dimension=dimension
        )
        return [v for _, v in found]

    day_list = [d for d, _ in daily("new_devices")]
    installs = daily("new_devices")
    conversions = daily("conversions")
    kinds = event_totals(conn, since, product_id=product_id, first=first, last=today)
    new_total = sum(v for _, v in installs)
    converted_total = sum(v for _, v in conversions)
    states = {
        name: [v for _, v in daily("devices", name)]
        for name in (DeviceStatus.TRIAL, DeviceStatus.REGISTERED, DeviceStatus.TRIAL_EXPIRED)
    }
    active = {window: [v for _, v in daily(f"active_{window}")] for window in ("1d", "7d", "30d")}
    piracy = [(PIRACY_LABELS.get(name, name), [v for _, v in daily("events", name)]) for name in PIRACY_KINDS]
    previous_kinds = totals(conn, product_id=product_id, metric="events", first=before_first, last=before_last)
    previous = {
        "new_total": sum(earlier("new_devices")),
        "converted_total": sum(earlier("conversions")),
        "active_7d": (earlier("active_7d") or [0])[-1],
        "active_30d": (earlier("active_30d") or [0])[-1],
        "registered": (earlier("devices", DeviceStatus.REGISTERED) or [0])[-1],
        "trial": (earlier("devices", DeviceStatus.TRIAL) or [0])[-1],
        "uninstalls": previous_kinds.get(EventKind.UNINSTALL, 0),
        "feedback": previous_kinds.get(EventKind.FEEDBACK, 0),
        "piracy": sum(previous_kinds.get(k, 0) for k in PIRACY_KINDS),
    }
    piracy_ratio = ratio_series(conn, product_id=product_id, first=first, last=today)
    chart: dict[str, Markup] = {
        "installs": charts.bar_chart(installs, label="New installs per day"),
        "active": charts.line_chart(
            day_list, [("active 7 days", active["7d"]), ("active 30 days", active["30d"])], label="Active devices"
        ),
        "states": charts.stacked_chart(
            day_list,
            [
                ("registered", states[DeviceStatus.REGISTERED]),
                ("trial", states[DeviceStatus.TRIAL]),
                ("trial expired", states[DeviceStatus.TRIAL_EXPIRED]),
            ],
            label="Trials vs registered",
        ),
        "conversions": charts.bar_chart(conversions, label="Conversions per day", color=charts.PALETTE[1]),
        "uninstalls": charts.bar_chart(
            daily("events", EventKind.UNINSTALL), label="Uninstalls per day", color=charts.PALETTE[3]
        ),
        "feedback": charts.bar_chart(
            daily("events", EventKind.FEEDBACK), label="Feedback per day", color=charts.PALETTE[4]
        ),
        "piracy": charts.stacked_chart(day_list, piracy, label="Suspected copies and invalid keys per day"),
        "versions": charts.share_chart(
            breakdown(conn, product_id=product_id, metric="versions_7d", day=today), label="Versions in use"
        ),
        "os": charts.share_chart(breakdown(conn, product_id=product_id, metric="os_7d", day=today), label="OS mix"),
        "ratio": charts.ratio_chart(
            day_list,
            [
                ("unlicensed users", [d["unlicensed_per_license"] for d in piracy_ratio]),
                ("suspected copies", [d["copies_per_license"] for d in piracy_ratio]),
            ],
            label="Unlicensed users and suspected copies per license sold",
            unit="per license sold",
        ),
    }
    return {
        "first": first,
        "today": today,
        "days": days,
        "chart": chart,
        "new_total": new_total,
        "converted_total": converted_total,
        "conversion_rate": (100.0 * converted_total / new_total) if new_total else None,
        "active_7d": active["7d"][-1] if active["7d"] else 0,
        "active_30d": active["30d"][-1] if active["30d"] else 0,
        "uninstalls": kinds.get(EventKind.UNINSTALL, 0),
        "feedback": kinds.get(EventKind.FEEDBACK, 0),
        "piracy": sum(kinds.get(k, 0) for k in PIRACY_KINDS),
        "has_data": bool(new_total or any(active["30d"])),
        "previous": previous,
        "cohort": cohort(
            conn,
            product_id=product_id,
            first=first,
            today=today,
            size=new_total,
            converted=cohort_converted(conn, since, product_id=product_id, first=first, today=today),
        ),
        # Today's (the minute's) figures; ``ratio.shown`` writes a ratio for people.
        "ratio": {**piracy_ratio[-1], "shown": ratio.shown, "definition": ratio.DEFINITION},
    }
