"""The piracy ratio: illegal users per license sold, day by day, from the daily rollups (docs/evidence.md).

Its figures are rollup metrics (``rollups/piracy.py`` computes them); this
module says what they mean and turns a product's rows into the ratio the
dashboard draws, the developer API answers and ``licentia product piracy``
prints. It imports nothing heavy: the CLI reads it on its fast path.
"""

from __future__ import annotations

import datetime as dt

from licentia.server.errors import ApiError, ErrorCode

TYPE_CHECKING = False  # typing is not imported: see store/snapshot.py
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

    from licentia.server.store.snapshot import Snapshot

# The window of "active": the dashboard's "active, 30 days".
ACTIVE_DAYS = 30
# The rollup metrics of the ratio (each one row per product and day; no row means 0).
LICENSES_SOLD = "licenses_sold"
UNLICENSED_ACTIVE = "unlicensed_active"
COPIES_ACTIVE = "copies_active"
METRICS = (LICENSES_SOLD, UNLICENSED_ACTIVE, COPIES_ACTIVE)
DEFINITION = (
    f"Active: checked in within the last {ACTIVE_DAYS} days (the dashboard's “active, 30 days”). "
    "Unlicensed users: active installations holding no license that were used on a day after their trial ended, "
    "or are suspected copies. Suspected copies: installations flagged as a copy of another, licensed or not. "
    "Licenses sold: licenses issued and not revoked (there is no separate test license: every license counts). "
    "A reinstall counts once."
)


def per_license(count: int, sold: int) -> float | None:
    """``count`` per license sold; None while none is sold (no ratio to speak of)."""
    return round(count / sold, 4) if sold else None


def shown(ratio: float | None) -> str:
    """A ratio as people read it: ``12``, ``2.5``, ``0.25``; a dash without a license sold."""
    if ratio is None:
        return "—"
    if ratio >= 100:
        return f"{ratio:,.0f}"
    return f"{ratio:.1f}" if ratio >= 10 else f"{ratio:.2f}".rstrip("0").rstrip(".") if ratio else "0"


def ratio_day(day: dt.date, values: Mapping[str, int]) -> dict[str, Any]:
    """One day's figures and both ratios."""
    sold, unlicensed, copies = (int(values.get(metric, 0)) for metric in METRICS)
    return {
        "day": day,
        LICENSES_SOLD: sold,
        UNLICENSED_ACTIVE: unlicensed,
        COPIES_ACTIVE: copies,
        "unlicensed_per_license": per_license(unlicensed, sold),
        "copies_per_license": per_license(copies, sold),
    }


def ratio_days(found: Mapping[tuple[dt.date, str], int], first: dt.date, last: dt.date) -> list[dict[str, Any]]:
    """Every day from ``first`` to ``last`` from the rows ``(day, metric) -> value`` (a missing row is 0)."""
    days = [first + dt.timedelta(days=n) for n in range((last - first).days + 1)]
    return [ratio_day(day, {metric: found.get((day, metric), 0) for metric in METRICS}) for day in days]


def read_snapshot(snapshot: Snapshot, *, slug: str, first: dt.date, last: dt.date) -> list[dict[str, Any]]:
    """A product's ratio days from a driver snapshot (the CLI's read, without SQLAlchemy)."""
    product = snapshot.row("SELECT id FROM products WHERE slug = :slug", slug=slug)
    if product is None:
        raise ApiError(ErrorCode.UNKNOWN_PRODUCT, f"no product named {slug!r}")
    # SQLite keeps dates as ISO text (and its driver's own date adapter is deprecated).
    bound = (first, last) if snapshot.dialect == "postgresql" else (first.isoformat(), last.isoformat())
    rows = snapshot.rows(
        "SELECT day, metric, value FROM daily_rollups WHERE product_id = :product AND day >= :first"
        " AND day <= :last AND metric IN (:sold, :unlicensed, :copies) AND dimension = ''",
        product=product["id"],
        first=bound[0],
        last=bound[1],
        sold=LICENSES_SOLD,
        unlicensed=UNLICENSED_ACTIVE,
        copies=COPIES_ACTIVE,
    )
    found = {(_day(row["day"]), str(row["metric"])): int(row["value"]) for row in rows}
    return ratio_days(found, first, last)


def _day(value: Any) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


def as_json(day: Mapping[str, Any]) -> dict[str, Any]:
    return {**day, "day": day["day"].isoformat()}
