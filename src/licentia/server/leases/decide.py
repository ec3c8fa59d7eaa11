"""Whether a machine may hold a floating seat: a pure function of the license's live leases.

A seat is a machine's, as for node-locked licenses: every installation on a
machine that holds a live lease shares its seat, so a second installation (or
a second application data path) on the same computer takes no other seat.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # for mypy only, never imported at run time
    from licentia.server.leases.row_types import LeaseRow


@dataclass(frozen=True, slots=True)
class SeatDecision:
    granted: bool
    # When refused: the earliest time one of the other machines' leases all end (a seat frees then).
    frees_at: dt.datetime | None = None
    seats_used: int = 0


def machines_holding(live_leases: Iterable[LeaseRow]) -> dict[str, dt.datetime]:
    """Each machine with a live lease, and when its last live lease ends."""
    held: dict[str, dt.datetime] = {}
    for lease in live_leases:
        ends = held.get(lease.machine_id)
        held[lease.machine_id] = lease.expires_at if ends is None else max(ends, lease.expires_at)
    return held


def seat_for(*, holds_seat: bool, machines: int, first_end: dt.datetime | None, seats: int) -> SeatDecision:
    """May a machine hold a seat? ``holds_seat``: it already holds one; ``machines``: how many hold one now,
    ``first_end``: when the first of them frees; ``seats``: how many the license allows."""
    if holds_seat:
        return SeatDecision(True, seats_used=machines)
    if machines < seats:
        return SeatDecision(True, seats_used=machines + 1)
    return SeatDecision(False, frees_at=first_end, seats_used=machines)


def lease_end(
    now: dt.datetime,
    *,
    lease_seconds: int,
    borrow_days: int | None,
    license_expires_at: dt.datetime | None,
) -> dt.datetime:
    """When a lease taken or renewed ``now`` ends: a borrow's days, else the lease time; never after the license."""
    span = dt.timedelta(days=borrow_days) if borrow_days else dt.timedelta(seconds=int(lease_seconds))
    end = now + span
    return end if license_expires_at is None else min(end, license_expires_at)
