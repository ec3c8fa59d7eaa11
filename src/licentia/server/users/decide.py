"""Whether a person may use a user seat of a license on a machine: a pure rulebook, no database.

A license whose type counts users (``seat_unit`` = ``user``) has ``max_devices``
seats, each held by one person (``license_users``); a person's seat covers up to
``machines_per_user`` machines. One person on a second machine takes no second
seat; a new person takes a seat only while one is free.
"""

from __future__ import annotations

from collections.abc import Set
from dataclasses import dataclass

from licentia.server.errors import ApiError, ErrorCode


@dataclass(frozen=True, slots=True)
class UserSeatVerdict:
    """``take_seat``: a new seat for the person; ``error``: why the sign-in is refused (None: allowed)."""

    take_seat: bool = False
    error: ApiError | None = None


def decide_user_seat(
    *,
    holds_seat: bool,
    seats_held: int,
    seats: int,
    users_machines: Set[str],
    machine_id: str,
    machines_per_user: int,
) -> UserSeatVerdict:
    """The verdict for a person signing in on ``machine_id``.

    ``users_machines``: the machines where this person already uses the
    license; ``seats_held``: the seats every person holds now.
    """
    if not holds_seat and seats_held >= seats:
        return UserSeatVerdict(
            error=ApiError(
                ErrorCode.NO_USER_SEAT,
                f"every user seat of this license is taken ({seats_held} of {seats} people)",
            )
        )
    if machine_id not in users_machines and len(users_machines) >= machines_per_user:
        return UserSeatVerdict(
            error=ApiError(
                ErrorCode.TOO_MANY_USER_MACHINES,
                f"this person already uses the license on {len(users_machines)} machines "
                f"(at most {machines_per_user}); free one of them first",
            )
        )
    return UserSeatVerdict(take_seat=not holds_seat)
