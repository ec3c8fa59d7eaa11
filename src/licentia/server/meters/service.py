"""Consuming a meter, exactly, and reading a license's usage (shared by the API, the admin UI and the CLI).

Decide, then write:

- *who* may consume: an installation that proves itself with its credential
  and its live rotating token (a fingerprint or a device id alone is public
  data; a copied state carries a stale token) and holds a seat of an active,
  unexpired license on an unrestricted machine;
- *how much*: one conditional ``UPDATE meter_usage SET used = used + n WHERE
  ... AND used + n <= limit`` on the (license, meter, period) row. PostgreSQL
  re-reads a row another transaction changed before applying the condition,
  SQLite runs one writer at a time: consumers on many machines and workers
  never pass the limit together, and nothing is lost between them;
- *once*: a consumption under an idempotency key is written in the same
  transaction; the same key again (the SDK retrying after a lost answer) is
  answered with the current figures and counted nothing.
"""

from __future__ import annotations

import datetime as dt
import hmac
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from licentia.core.clock import to_iso
from licentia.core.status import LicenseState
from licentia.core.vocabulary import EventKind
from licentia.server.devices.identify import Token, token_state
from licentia.server.devices.rows import sha256
from licentia.server.errors import ApiError, ErrorCode
from licentia.server.events.service import record_event
from licentia.server.licenses.views import get_license
from licentia.server.meters.periods import Period, period_at
from licentia.server.policies.choices import MeterPeriod
from licentia.server.policies.service import policy_by_id
from licentia.server.policies.terms import effective
from licentia.server.store.raw import Statement
from licentia.server.store.tables import meter_consumptions as consumptions
from licentia.server.store.tables import meter_usage as usage

# Tokens that show the caller holds the installation's live state (PREVIOUS: the answer that rotated it was lost).
_LIVE = frozenset({Token.CURRENT, Token.PREVIOUS, Token.UNISSUED})


@dataclass(frozen=True, slots=True)
class Figures:
    """A meter's standing in its period: what the API answers, and what a refusal carries."""

    meter: str
    used: int
    limit: int
    period: str
    period_start: dt.datetime
    period_end: dt.datetime | None
    replayed: bool = False  # the idempotency key was counted before: this call counted nothing

    @property
    def remaining(self) -> int:
        # A vendor may lower a limit below what was already used: nothing remains, never a negative.
        return max(0, self.limit - self.used)

    def as_dict(self) -> dict[str, Any]:
        return {
            "meter": self.meter,
            "used": self.used,
            "limit": self.limit,
            "remaining": self.remaining,
            "period": self.period,
            "period_start": to_iso(self.period_start),
            "period_end": to_iso(self.period_end) if self.period_end else None,
            "replayed": self.replayed,
        }


class QuotaExceeded(ApiError):
    """409 ``quota_exceeded``: counting ``amount`` would pass the limit; nothing was counted."""

    def __init__(self, figures: Figures, amount: int) -> None:
        super().__init__(
            ErrorCode.QUOTA_EXCEEDED,
            f"meter {figures.meter!r}: {amount} more would pass the limit of {figures.limit} "
            f"per {figures.period} ({figures.remaining} left)",
        )
        self.figures = figures


def meters_of(conn: sa.Connection, license_row: Any) -> dict[str, Any]:
    """The license's meters: its type's, with the license's own overrides merged by name."""
    policy = policy_by_id(conn, license_row.policy_id)
    return dict(effective(dict(policy._mapping), license_row.policy_overrides).get("meters") or {})


# The consumption's statements run on the driver connection (store.raw): SQLAlchemy's
# per-statement work costs more than these small indexed statements themselves.
_HOLDER = Statement(
    "SELECT d.id, d.product_id, d.secret_hash, d.token_hash, d.prev_token_hash, d.license_id,"
    " l.state, l.expires_at, l.policy_overrides, p.meters, m.restriction"
    " FROM devices d JOIN machines m ON m.id = d.machine_id"
    " LEFT JOIN licenses l ON l.id = d.license_id LEFT JOIN policies p ON p.id = l.policy_id"
    " WHERE d.id = :id",
    datetimes=("expires_at",),
    json_columns=("policy_overrides", "meters"),
)
_CLAIM_KEY = Statement(
    "INSERT INTO meter_consumptions (license_id, idempotency_key, meter, amount, period_start, device_id, consumed_at)"
    " VALUES (:license_id, :key, :meter, :amount, :period_start, :device_id, :now)"
    " ON CONFLICT (license_id, idempotency_key) DO NOTHING RETURNING amount"
)
# One statement counts: the first consumption of a period inserts its row, later ones add to
# it, and neither happens when the sum would pass the limit (RETURNING then names no row).
_COUNT = Statement(
    "INSERT INTO meter_usage (license_id, meter, period_start, used, updated_at)"
    " SELECT :license_id, :meter, :period_start, :amount, :now WHERE :amount <= :limit"
    " ON CONFLICT (license_id, meter, period_start) DO UPDATE"
    " SET used = meter_usage.used + excluded.used, updated_at = excluded.updated_at"
    " WHERE meter_usage.used + excluded.used <= :limit"
    " RETURNING used"
)
_USED = Statement(
    "SELECT used FROM meter_usage WHERE license_id = :license_id AND meter = :meter AND period_start = :period_start"
)
_RELEASE_KEY = Statement(
    "DELETE FROM meter_consumptions WHERE license_id = :license_id AND idempotency_key = :key RETURNING amount"
)


def _seat_holder(conn: sa.Connection, credential: tuple[str, str] | None, token: str | None, now: dt.datetime) -> Any:
    """The authenticated installation with its license and meters, or the refusal a caller can act on."""
    if credential is None:
        raise ApiError(ErrorCode.INVALID_CREDENTIAL, "this call needs the device credential (Authorization: Device)")
    row = _HOLDER.first(conn, id=credential[0])
    if row is None or not hmac.compare_digest(sha256(credential[1]), row.secret_hash):
        raise ApiError(ErrorCode.INVALID_CREDENTIAL, "unknown device or wrong device secret")
    if token_state(row, token) not in _LIVE:
        raise ApiError(ErrorCode.STALE_TOKEN, "send the installation's current token (from its last check)")
    if row.license_id is None or row.state is None:
        raise ApiError(ErrorCode.NOT_REGISTERED, "only an installation activated on a license consumes its meters")
    if row.state == LicenseState.SUSPENDED.value:
        raise ApiError(ErrorCode.LICENSE_SUSPENDED, "the license is suspended")
    if row.state == LicenseState.REVOKED.value:
        raise ApiError(ErrorCode.LICENSE_REVOKED, "the license is revoked")
    if row.state != LicenseState.ACTIVE.value or (row.expires_at is not None and row.expires_at <= now):
        raise ApiError(ErrorCode.LICENSE_EXPIRED, "the license has expired")
    if row.restriction:
        raise ApiError(ErrorCode.MACHINE_RESTRICTED, f"the vendor {row.restriction} this machine")
    return row


def _definition(meters: dict[str, Any], meter: str) -> tuple[int, str]:
    entry = meters.get(meter)
    if not isinstance(entry, dict):
        known = ", ".join(sorted(meters)) or "none"
        raise ApiError(ErrorCode.UNKNOWN_METER, f"no meter {meter!r} on this license (its meters: {known})")
    return int(entry["limit"]), str(entry.get("period") or MeterPeriod.MONTH.value)


def _used(conn: sa.Connection, license_id: int, meter: str, start: dt.datetime) -> int:
    found = conn.execute(
        sa.select(usage.c.used).where(
            usage.c.license_id == license_id, usage.c.meter == meter, usage.c.period_start == start
        )
    ).scalar()
    return int(found or 0)


def consume(
    conn: sa.Connection,
    *,
    credential: tuple[str, str] | None,
    token: str | None,
    meter: str,
    amount: int,
    now: dt.datetime,
    idempotency_key: str | None = None,
) -> Figures:
    """Count ``amount`` units of ``meter`` for the caller's license, or raise :class:`QuotaExceeded`.

    ``amount`` 0 counts nothing and answers the figures. Every refusal is
    raised with nothing of it written (a refused idempotency key is removed
    again), so a caller may commit the transaction anyway: the group-commit
    writer then keeps its batch instead of running each job again alone.
    """
    holder = _seat_holder(conn, credential, token, now)
    license_id = holder.license_id
    meters = effective({"meters": holder.meters or {}}, holder.policy_overrides).get("meters") or {}
    limit, kind = _definition(dict(meters), meter)
    period = period_at(kind, now)
    where = {"license_id": license_id, "meter": meter, "period_start": period.start}
    if idempotency_key is not None:
        claimed = _CLAIM_KEY.first(conn, **where, key=idempotency_key, amount=amount, device_id=holder.id, now=now)
        if claimed is None:
            return _replay(conn, license_id, idempotency_key, meter, amount, _figures(meter, 0, limit, kind, period))
    if amount == 0:
        return _figures(meter, _standing(conn, where), limit, kind, period)
    counted = _COUNT.first(conn, **where, amount=amount, limit=limit, now=now)
    if counted is None:
        if idempotency_key is not None:
            # Not counted, so not spent: a later retry under this key may count once there is room.
            _RELEASE_KEY.first(conn, license_id=license_id, key=idempotency_key)
        raise QuotaExceeded(_figures(meter, _standing(conn, where), limit, kind, period), amount)
    used = int(counted.used)
    if used == limit:
        # Exactly one consumption brings the count to the limit: one event per meter and period, never a flood.
        record_event(
            conn,
            product_id=holder.product_id,
            device_id=holder.id,
            license_id=license_id,
            kind=EventKind.QUOTA_REACHED,
            received_at=now,
            data={"meter": meter, "limit": limit, "period": kind, "period_start": to_iso(period.start)},
        )
    return _figures(meter, used, limit, kind, period)


def _standing(conn: sa.Connection, where: dict[str, Any]) -> int:
    found = _USED.first(conn, **where)
    return int(found.used) if found is not None else 0


def _figures(meter: str, used: int, limit: int, kind: str, period: Period, replayed: bool = False) -> Figures:
    return Figures(meter, used, limit, kind, period.start, period.end, replayed)


def _replay(conn: sa.Connection, license_id: int, key: str, meter: str, amount: int, now_figures: Figures) -> Figures:
    """The answer to a consumption already counted under ``key``: the figures of its period, now."""
    first = conn.execute(
        sa.select(consumptions).where(consumptions.c.license_id == license_id, consumptions.c.idempotency_key == key)
    ).one()
    if first.meter != meter or first.amount != amount:
        raise ApiError(ErrorCode.IDEMPOTENCY_KEY_REUSED, f"idempotency key {key!r} already counted another consumption")
    period = period_at(now_figures.period, first.period_start)
    used = _used(conn, license_id, meter, first.period_start)
    return Figures(meter, used, now_figures.limit, now_figures.period, period.start, period.end, replayed=True)


def license_usage(conn: sa.Connection, license_row: Any, now: dt.datetime) -> list[Figures]:
    """Every meter of the license with what was used in its current period (0 where nothing was)."""
    found = []
    for meter, entry in sorted(meters_of(conn, license_row).items()):
        if not isinstance(entry, dict):
            continue
        kind = str(entry.get("period") or MeterPeriod.MONTH.value)
        period = period_at(kind, now)
        used = _used(conn, license_row.id, meter, period.start)
        found.append(_figures(meter, used, int(entry["limit"]), kind, period))
    return found


def usage_history(conn: sa.Connection, license_id: int, *, limit: int = 100) -> list[dict[str, Any]]:
    """Past and present periods of every meter, newest first (what the admin page and the API list)."""
    rows = conn.execute(
        sa.select(usage.c.meter, usage.c.period_start, usage.c.used, usage.c.updated_at)
        .where(usage.c.license_id == license_id)
        .order_by(usage.c.period_start.desc(), usage.c.meter)
        .limit(limit)
    ).all()
    return [
        {
            "meter": r.meter,
            "period_start": to_iso(r.period_start),
            "used": int(r.used),
            "updated_at": to_iso(r.updated_at),
        }
        for r in rows
    ]


def usage_of_license(conn: sa.Connection, *, license_id: int, now: dt.datetime) -> dict[str, Any]:
    row = get_license(conn, license_id)
    return {
        "license_id": row.id,
        "key_prefix": row.key_prefix,
        "meters": [f.as_dict() for f in license_usage(conn, row, now)],
        "history": usage_history(conn, row.id),
    }
