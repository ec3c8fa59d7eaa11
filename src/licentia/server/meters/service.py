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
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from licentia.core.clock import to_iso
from licentia.core.status import LicenseState
from licentia.core.vocabulary import EventKind
from licentia.server.devices.identify import Token, token_state
from licentia.server.devices.service import authenticate
from licentia.server.errors import ApiError, ErrorCode
from licentia.server.events.service import record_event
from licentia.server.meters.periods import Period, period_at
from licentia.server.policies.service import policy_by_id
from licentia.server.policies.terms import effective
from licentia.server.store.models import License, Machine, MeterConsumption, MeterUsage, table_of

usage = table_of(MeterUsage)
consumptions = table_of(MeterConsumption)
licenses = table_of(License)
machines = table_of(Machine)
# Tokens that show the caller holds the installation's live state (PREVIOUS: the answer that rotated it was lost).
_LIVE = frozenset({Token.CURRENT, Token.PREVIOUS, Token.UNISSUED})
_REFUSED_STATES = {
    LicenseState.SUSPENDED.value: ErrorCode.LICENSE_SUSPENDED,
    LicenseState.REVOKED.value: ErrorCode.LICENSE_REVOKED,
    LicenseState.EXPIRED.value: ErrorCode.LICENSE_EXPIRED,
}


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


def _seat_holder(conn: sa.Connection, credential: tuple[str, str] | None, token: str | None, now: dt.datetime) -> Any:
    """The license the authenticated installation holds a seat of, or the refusal a caller can act on."""
    device = authenticate(conn, credential)
    if token_state(device, token) not in _LIVE:
        raise ApiError(ErrorCode.STALE_TOKEN, "send the installation's current token (from its last check)")
    if device.license_id is None:
        raise ApiError(ErrorCode.NOT_REGISTERED, "only an installation activated on a license consumes its meters")
    row = conn.execute(sa.select(licenses).where(licenses.c.id == device.license_id)).first()
    if row is None:
        raise ApiError(ErrorCode.NOT_REGISTERED, "only an installation activated on a license consumes its meters")
    refused = _REFUSED_STATES.get(row.state)
    if refused is None and row.expires_at is not None and row.expires_at <= now:
        refused = ErrorCode.LICENSE_EXPIRED
    if refused is not None:
        raise ApiError(refused, f"the license is {row.state if row.state != 'active' else 'expired'}")
    restriction = conn.execute(sa.select(machines.c.restriction).where(machines.c.id == device.machine_id)).scalar()
    if restriction:
        raise ApiError(ErrorCode.MACHINE_RESTRICTED, f"the vendor {restriction} this machine")
    return device, row


def _definition(meters: dict[str, Any], meter: str) -> tuple[int, str]:
    entry = meters.get(meter)
    if not isinstance(entry, dict):
        known = ", ".join(sorted(meters)) or "none"
        raise ApiError(ErrorCode.UNKNOWN_METER, f"no meter {meter!r} on this license (its meters: {known})")
    return int(entry["limit"]), str(entry.get("period") or "month")


def _used(conn: sa.Connection, license_id: int, meter: str, start: dt.datetime) -> int:
    found = conn.execute(
        sa.select(usage.c.used).where(
            usage.c.license_id == license_id, usage.c.meter == meter, usage.c.period_start == start
        )
    ).scalar()
    return int(found or 0)


def _insert_ignoring_conflict(conn: sa.Connection, table: sa.Table, keys: list[str], values: dict[str, Any]) -> bool:
    """INSERT ... ON CONFLICT DO NOTHING; True when the row is new (a concurrent twin waits, then sees it)."""
    ins = (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(table)
    stmt = ins.values(**values).on_conflict_do_nothing(index_elements=keys).returning(sa.literal(1))
    return conn.execute(stmt).first() is not None


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
    device, license_row = _seat_holder(conn, credential, token, now)
    limit, kind = _definition(meters_of(conn, license_row), meter)
    period = period_at(kind, now)
    figures = _figures(meter, 0, limit, kind, period)
    if idempotency_key is not None:
        new = _insert_ignoring_conflict(
            conn,
            consumptions,
            ["license_id", "idempotency_key"],
            {
                "license_id": license_row.id,
                "idempotency_key": idempotency_key,
                "meter": meter,
                "amount": amount,
                "period_start": period.start,
                "device_id": device.id,
                "consumed_at": now,
            },
        )
        if not new:
            return _replay(conn, license_row.id, idempotency_key, meter, amount, figures)
    if amount == 0:
        return _figures(meter, _used(conn, license_row.id, meter, period.start), limit, kind, period)
    _insert_ignoring_conflict(
        conn,
        usage,
        ["license_id", "meter", "period_start"],
        {"license_id": license_row.id, "meter": meter, "period_start": period.start, "used": 0, "updated_at": now},
    )
    where = (usage.c.license_id == license_row.id, usage.c.meter == meter, usage.c.period_start == period.start)
    used = conn.execute(
        usage.update()
        .where(*where, usage.c.used + amount <= limit)
        .values(used=usage.c.used + amount, updated_at=now)
        .returning(usage.c.used)
    ).scalar()
    if used is None:
        if idempotency_key is not None:
            # Not counted, so not spent: a later retry under this key may count once there is room.
            conn.execute(
                consumptions.delete().where(
                    consumptions.c.license_id == license_row.id, consumptions.c.idempotency_key == idempotency_key
                )
            )
        standing = _used(conn, license_row.id, meter, period.start)
        raise QuotaExceeded(_figures(meter, standing, limit, kind, period), amount)
    if used == limit:
        # Exactly one consumption brings the count to the limit: one event per meter and period, never a flood.
        record_event(
            conn,
            product_id=device.product_id,
            device_id=device.id,
            license_id=license_row.id,
            kind=EventKind.QUOTA_REACHED,
            received_at=now,
            data={"meter": meter, "limit": limit, "period": kind, "period_start": to_iso(period.start)},
        )
    return _figures(meter, int(used), limit, kind, period)


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
        kind = str(entry.get("period") or "month")
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
