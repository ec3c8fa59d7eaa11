"""Seats an offline lease still holds: nothing but the machine's proof (or the vendor) frees them early.

A computer activated offline never checks in, so "unseen for
``seat_release_days``" says nothing about it: it runs on its response until
the lease ends. Freeing its seat on a schedule, or by the customer in the
portal, would let the license run on one machine more than it allows until
then. Its deactivation proof frees it (server/offline/service.py); the
vendor can still free it by hand, knowingly.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from licentia.server.errors import ApiError, ErrorCode
from licentia.server.store.tables import devices, offline_activations


def _live(license_id: int, now: dt.datetime) -> sa.Select[tuple[str, dt.datetime]]:
    return (
        sa.select(devices.c.machine_id, offline_activations.c.lease_until)
        .join(devices, devices.c.id == offline_activations.c.device_id)
        .where(
            offline_activations.c.license_id == license_id,
            offline_activations.c.deactivated_at.is_(None),
            offline_activations.c.lease_until > now,
            devices.c.license_id == license_id,
        )
    )


def leased_machines(conn: sa.Connection, license_id: int, now: dt.datetime) -> set[str]:
    """The machines of the license whose offline lease is still running."""
    return {row.machine_id for row in conn.execute(_live(license_id, now))}


def refuse_while_leased(conn: sa.Connection, *, license_id: int, machine_id: str, now: dt.datetime) -> None:
    """``offline_lease_active`` if the machine runs on an offline lease of this license."""
    until = conn.execute(
        _live(license_id, now).where(devices.c.machine_id == machine_id).order_by(offline_activations.c.lease_until)
    ).first()
    if until is not None:
        raise ApiError(
            ErrorCode.OFFLINE_LEASE_ACTIVE,
            f"this computer was activated offline and may run until {until.lease_until:%Y-%m-%d}: upload the "
            "deactivation proof it writes on the Offline activation page to free its seat",
        )
