"""Transfers: a license moving to another machine, counted against its type's limit on every path.

The rule lives here once (docs/licensing-models.md, "Transfers"). A seat the
customer or the application gives back is written down as *freed*
(:func:`seat_freed`) once its machine holds no installation on the license:
``/v1/deactivate`` (the SDK's ``deactivate()``), the portal's "Free this
seat", an air-gapped deactivation proof, or an installation activating another
license. The vendor's staff freeing a seat, a revoked license, and the
scheduled release of a seat unseen for ``seat_release_days`` write nothing:
they are never the customer's move.

An activation that takes a seat on a machine holding none (:func:`take_seat`,
from ``seats.claim_seat``: ``/v1/activate`` and air-gapped activation alike) is

- the same machine back (``returned``) when its own seat is among the freed
  ones: never counted;
- a seat nobody freed (never used, or freed by the vendor or the schedule)
  while the license still has one: nothing to count;
- else a **transfer**: it takes the oldest freed seat and counts against the
  type's ``transfer_limit`` over the last ``transfer_period_days`` (a rolling
  window). Past the limit a transfer the vendor granted is used (``extra``),
  or the activation is refused with ``transfer_limit`` and the time the oldest
  counted transfer leaves the window (threat: a one-seat key hopping between
  two computers by deactivating and activating in turn).

Nothing here runs on ``/v1/check``: only activations and deactivations read
or write these rows, under the license lock activations take.
"""

from __future__ import annotations

import datetime as dt
import enum
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from licentia.core.clock import to_iso
from licentia.server.audit import AuditAction, record
from licentia.server.errors import ApiError, ErrorCode
from licentia.server.fields import Reason, checked
from licentia.server.policies.terms import effective
from licentia.server.store.tables import devices, freed_seats, licenses, policies, transfer_grants

MAX_GRANT = 1000


class FreedBy(enum.StrEnum):
    """How the customer or the application gave a seat back (``freed_seats.freed_by``)."""

    DEACTIVATE = "deactivate"  # POST /v1/deactivate
    PORTAL = "portal"  # the customer portal's "Free this seat"
    OFFLINE = "offline"  # an air-gapped deactivation proof
    SWITCHED = "switched"  # the installation activated another license of the product


class Outcome(enum.StrEnum):
    """What took a freed seat (``freed_seats.outcome``; NULL while it waits)."""

    RETURNED = "returned"  # the machine that freed it: not a transfer
    TRANSFER = "transfer"  # another machine: counted against the limit
    EXTRA = "extra"  # another machine past the limit, on a transfer the vendor granted
    FORGIVEN = "forgiven"  # a counted transfer the vendor reset


@dataclass(frozen=True)
class Pending:
    id: int
    machine_id: str


@dataclass(frozen=True)
class Move:
    """What taking a seat on a machine is: the freed seat it takes (None: one nobody freed) and how."""

    taken: int | None
    outcome: Outcome | None


def classify(pending: Sequence[Pending], *, machine_id: str, seats_used: int, max_devices: int) -> Move:
    """Decide what an activation on ``machine_id`` (which holds no seat) takes; ``pending`` oldest first.

    ``seats_used`` counts the machines holding the license now. Seats nobody
    freed are taken first: a license with room to spare moves nowhere.
    """
    for freed in pending:
        if freed.machine_id == machine_id:
            return Move(freed.id, Outcome.RETURNED)
    if not pending or seats_used + len(pending) < max_devices:
        return Move(None, None)
    return Move(pending[0].id, Outcome.TRANSFER)


@dataclass(frozen=True)
class Standing:
    """A license's transfers: its type's limit, those counted in the window, those the vendor granted."""

    limit: int | None  # None: the type sets no limit
    period_days: int
    used: int  # transfers counted over the last ``period_days``
    extra: int  # granted by the vendor and not used yet
    # When one more transfer is allowed, if none is now (None: one is, or only the vendor can allow it).
    next_transfer_at: dt.datetime | None

    @property
    def left(self) -> int | None:
        if self.limit is None:
            return None
        return max(0, self.limit - self.used) + self.extra

    def as_dict(self) -> dict[str, Any]:
        return {
            "limit": self.limit,
            "period_days": self.period_days,
            "used": self.used,
            "extra": self.extra,
            "left": self.left,
            "next_transfer_at": self.next_transfer_at,
        }


def judge(counted_at: Sequence[dt.datetime], *, limit: int | None, period_days: int, extra: int) -> Standing:
    """The standing from the times of the transfers counted in the last ``period_days``, oldest first."""
    used = len(counted_at)
    next_at = None
    if limit is not None and limit > 0 and used >= limit and extra == 0:
        # One more is allowed once all but limit - 1 of them have left the window.
        next_at = counted_at[used - limit] + dt.timedelta(days=period_days)
    return Standing(limit, period_days, used, extra, next_at)


class TransferLimit(ApiError):
    """409 ``transfer_limit``, with when the next transfer is allowed (body and ``Retry-After``)."""

    def __init__(self, standing: Standing, now: dt.datetime) -> None:
        when = standing.next_transfer_at
        back = "a machine that held the license can always take it back, and the vendor can allow more"
        if when is None:
            message = f"this license may not move to another machine now: {back}"
        else:
            message = (
                f"this license moved to another machine {standing.used} times in the last "
                f"{standing.period_days} days, as many as its type allows; the next move is possible from "
                f"{when:%Y-%m-%d %H:%M} UTC ({back})"
            )
        super().__init__(
            ErrorCode.TRANSFER_LIMIT,
            message,
            headers={} if when is None else {"Retry-After": str(max(1, math.ceil((when - now).total_seconds())))},
            details={
                "next_transfer_at": None if when is None else to_iso(when),
                "transfer_limit": standing.limit,
                "transfer_period_days": standing.period_days,
                "transfers_used": standing.used,
            },
        )
        self.standing = standing


def seat_freed(conn: sa.Connection, *, license_id: int, machine_id: str, now: dt.datetime, by: FreedBy) -> bool:
    """Write down that the customer or the application gave the machine's seat back.

    Only once the machine holds the license no more (seats count machines):
    one of two installations deactivating leaves the seat where it is.
    """
    still = conn.execute(
        sa.select(devices.c.id).where(devices.c.license_id == license_id, devices.c.machine_id == machine_id).limit(1)
    ).first()
    if still is not None:
        return False
    conn.execute(
        freed_seats.insert().values(license_id=license_id, machine_id=machine_id, freed_at=now, freed_by=by.value)
    )
    return True


def take_seat(
    conn: sa.Connection,
    *,
    license_id: int,
    machine_id: str,
    seats_used: int,
    max_devices: int,
    limit: int | None,
    period_days: int,
    now: dt.datetime,
) -> None:
    """Write what a new seat on ``machine_id`` takes; :class:`TransferLimit` (nothing written) past the limit."""
    pending = [
        Pending(row.id, row.machine_id)
        for row in conn.execute(
            sa.select(freed_seats.c.id, freed_seats.c.machine_id)
            .where(freed_seats.c.license_id == license_id, freed_seats.c.taken_at.is_(None))
            .order_by(freed_seats.c.freed_at, freed_seats.c.id)
        )
    ]
    move = classify(pending, machine_id=machine_id, seats_used=seats_used, max_devices=max_devices)
    if move.taken is None or move.outcome is None:
        return
    outcome = move.outcome
    if outcome is Outcome.TRANSFER and limit is not None:
        now_standing = standing(conn, license_id=license_id, limit=limit, period_days=period_days, now=now)
        if now_standing.used >= limit:
            if now_standing.extra <= 0:
                raise TransferLimit(now_standing, now)
            outcome = Outcome.EXTRA
    conn.execute(
        freed_seats.update()
        .where(freed_seats.c.id == move.taken)
        .values(taken_at=now, taken_by=machine_id, outcome=outcome.value)
    )


def standing(
    conn: sa.Connection, *, license_id: int, limit: int | None, period_days: int, now: dt.datetime
) -> Standing:
    since = now - dt.timedelta(days=period_days)
    counted_at = list(
        conn.execute(
            sa.select(freed_seats.c.taken_at)
            .where(
                freed_seats.c.license_id == license_id,
                freed_seats.c.outcome == Outcome.TRANSFER.value,
                freed_seats.c.taken_at > since,
            )
            .order_by(freed_seats.c.taken_at)
        ).scalars()
    )
    granted = conn.execute(
        sa.select(sa.func.coalesce(sa.func.sum(transfer_grants.c.transfers), 0)).where(
            transfer_grants.c.license_id == license_id
        )
    ).scalar_one()
    spent = conn.execute(
        sa.select(sa.func.count()).where(
            freed_seats.c.license_id == license_id, freed_seats.c.outcome == Outcome.EXTRA.value
        )
    ).scalar_one()
    return judge(counted_at, limit=limit, period_days=period_days, extra=max(0, int(granted) - int(spent)))


def _terms(conn: sa.Connection, license_id: int, *, lock: bool = False) -> tuple[int | None, int]:
    """The license's ``transfer_limit`` and ``transfer_period_days`` (its type's, with its overrides)."""
    query = sa.select(licenses.c.policy_id, licenses.c.policy_overrides).where(licenses.c.id == license_id)
    if lock and conn.dialect.name == "postgresql":
        # The lock activations take: a grant or reset and an activation judged on the old count never interleave.
        query = query.with_for_update()
    row = conn.execute(query).first()
    if row is None:
        raise ApiError(ErrorCode.UNKNOWN_LICENSE, f"no license {license_id}")
    policy = conn.execute(sa.select(policies).where(policies.c.id == row.policy_id)).one()
    terms = effective(dict(policy._mapping), row.policy_overrides)
    limit = terms["transfer_limit"]
    return (None if limit is None else int(limit)), int(terms["transfer_period_days"] or 365)


def _reason(reason: str | None) -> str | None:
    # Spaces folded; one too long for its column is refused as every surface refuses it, never cut.
    folded: str = checked(Reason, " ".join((reason or "").split()), field="reason")
    return folded or None


def license_transfers(conn: sa.Connection, license_id: int, now: dt.datetime) -> Standing:
    """The transfers of one license as its type counts them now (admin UI, developer API, CLI, portal)."""
    limit, period_days = _terms(conn, license_id)
    return standing(conn, license_id=license_id, limit=limit, period_days=period_days, now=now)


def grant_transfers(
    conn: sa.Connection, *, license_id: int, transfers: int, actor: str, now: dt.datetime, reason: str | None = None
) -> Standing:
    """Allow ``transfers`` more moves beyond the type's limit; each is used once, whenever it is needed."""
    if not 1 <= transfers <= MAX_GRANT:
        raise ApiError(ErrorCode.INVALID_NUMBER, f"grant 1 to {MAX_GRANT} transfers")
    limit, period_days = _terms(conn, license_id, lock=True)
    reason = _reason(reason)
    conn.execute(
        transfer_grants.insert().values(
            license_id=license_id, transfers=transfers, granted_at=now, granted_by=actor[:320], reason=reason
        )
    )
    record(
        conn, AuditAction.LICENSE_GRANT_TRANSFERS, license_id, actor=actor, now=now, transfers=transfers, reason=reason
    )
    return standing(conn, license_id=license_id, limit=limit, period_days=period_days, now=now)


def reset_transfers(
    conn: sa.Connection, *, license_id: int, actor: str, now: dt.datetime, reason: str | None = None
) -> Standing:
    """Forgive the transfers counted in the current window: the license has its type's full allowance again."""
    limit, period_days = _terms(conn, license_id, lock=True)
    reason = _reason(reason)
    forgiven = conn.execute(
        freed_seats.update()
        .where(
            freed_seats.c.license_id == license_id,
            freed_seats.c.outcome == Outcome.TRANSFER.value,
            freed_seats.c.taken_at > now - dt.timedelta(days=period_days),
        )
        .values(outcome=Outcome.FORGIVEN.value)
    ).rowcount
    record(
        conn, AuditAction.LICENSE_RESET_TRANSFERS, license_id, actor=actor, now=now, forgiven=forgiven, reason=reason
    )
    return standing(conn, license_id=license_id, limit=limit, period_days=period_days, now=now)
