"""Changes a vendor makes to machines and installations (admin UI, developer API, CLI).

Trials, blocks and suspensions belong to the machine (docs/design.md, principle 3):
extending a trial or blocking, named by any installation of the machine, acts
on the machine and so on every installation on it. A seat is a machine's too:
freeing it unbinds every installation of that machine from the license.

Principle 1 of docs/design.md: a status only rises through these functions or
through redeeming a genuine key; none of them is reachable from the public API.
Every change also rewrites the stored status of the machine's installations,
so a status check deciding on rows read before the change finds its guard
broken and decides again (see ``rows.GUARDS``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa

from licentia.core.status import DeviceStatus
from licentia.core.vocabulary import EventKind
from licentia.server.audit import AuditAction, record
from licentia.server.devices.decide import COPY_BLOCK_REASON, Situation, decide
from licentia.server.errors import ApiError, ErrorCode
from licentia.server.events.service import record_event
from licentia.server.fields import Reason, checked
from licentia.server.store.tables import devices, licenses, machines

STATUSES = tuple(s.value for s in DeviceStatus)
RESTRICTIONS = (DeviceStatus.BLOCKED.value, DeviceStatus.SUSPENDED.value)
MAX_TRIAL_EXTENSION_DAYS = 3650

# An installation with its machine's trial and restriction, and its license's state.
_INSTALLATION = (
    sa.select(
        devices,
        machines.c.trial_end,
        machines.c.restriction,
        machines.c.restriction_reason,
        licenses.c.state.label("license_state"),
        licenses.c.expires_at.label("license_expires_at"),
    )
    .join(machines, machines.c.id == devices.c.machine_id)
    .outerjoin(licenses, licenses.c.id == devices.c.license_id)
)


def installations_of(conn: sa.Connection, *where: Any) -> list[sa.Row[Any]]:
    return list(conn.execute(_INSTALLATION.where(*where)).all())


def get_device(conn: sa.Connection, device_id: str) -> sa.Row[Any]:
    """An installation, with its machine's trial end and restriction."""
    found = installations_of(conn, devices.c.id == device_id)
    if not found:
        raise ApiError(ErrorCode.UNKNOWN_DEVICE, f"no device {device_id!r}")
    return found[0]


def _restatus(conn: sa.Connection, machine_id: str, now: dt.datetime, *, reason: str | None = None) -> None:
    """Store again the status of every installation of a machine after the vendor changed it."""
    for row in installations_of(conn, devices.c.machine_id == machine_id):
        decision = decide(
            Situation(
                now=now,
                stored_status=row.status,
                stored_reason=reason if reason is not None else row.status_reason,
                trial_end=row.trial_end,
                restriction=row.restriction,
                restriction_reason=row.restriction_reason,
                license_state=row.license_state,
                license_expires_at=row.license_expires_at,
            )
        )
        status_reason = reason if reason is not None and decision.status == row.status else decision.reason
        if (decision.status, status_reason) != (row.status, row.status_reason):
            conn.execute(
                devices.update()
                .where(devices.c.id == row.id)
                .values(status=decision.status, status_reason=status_reason)
            )


def set_device_status(
    conn: sa.Connection, *, device_id: str, status: str, actor: str, now: dt.datetime, reason: str | None = None
) -> None:
    """Block or suspend the installation's machine, or lift that (any other status).

    ``trial_expired`` also ends the machine's trial now; ``registered`` needs a
    license bound to the installation. Lifting also lifts the block that a
    copy of this installation's state put on it.
    """
    if status not in STATUSES:
        raise ApiError(ErrorCode.INVALID_STATUS, f"status is one of {', '.join(STATUSES)}")
    row = get_device(conn, device_id)
    if status == DeviceStatus.REGISTERED.value and row.license_id is None:
        # A registered device without a license would have no seat to count against.
        raise ApiError(ErrorCode.NO_LICENSE, "a device becomes registered by activating a license key")
    reason = checked(Reason, reason, field="reason") if reason else None  # refused when too long, never cut
    values: dict[str, Any] = {}
    if status in RESTRICTIONS:
        values.update(restriction=status, restriction_reason=reason or f"{status} by the vendor")
    else:
        values.update(restriction=None, restriction_reason=None)
        if status == DeviceStatus.TRIAL_EXPIRED.value and (row.trial_end is None or row.trial_end > now):
            values["trial_end"] = now
        if row.status == DeviceStatus.BLOCKED.value and row.status_reason == COPY_BLOCK_REASON:
            conn.execute(
                devices.update().where(devices.c.id == device_id).values(status=status, status_reason="set by vendor")
            )
    conn.execute(machines.update().where(machines.c.id == row.machine_id).values(**values))
    _restatus(conn, row.machine_id, now)
    record(
        conn,
        AuditAction.DEVICE_SET_STATUS,
        row.machine_id,
        actor=actor,
        now=now,
        device=device_id,
        status=status,
        previous=row.status,
        reason=reason,
    )


def extend_trial(conn: sa.Connection, *, device_id: str, days: int, actor: str, now: dt.datetime) -> dt.datetime:
    """Push the machine's trial end ``days`` past the later of now and the current end.

    Every installation on the machine shares it; an expired trial reopens.
    """
    if not 1 <= days <= MAX_TRIAL_EXTENSION_DAYS:
        raise ApiError(ErrorCode.INVALID_DAYS, f"days must be between 1 and {MAX_TRIAL_EXTENSION_DAYS}")
    row = get_device(conn, device_id)
    end = max(row.trial_end or now, now) + dt.timedelta(days=days)
    conn.execute(machines.update().where(machines.c.id == row.machine_id).values(trial_end=end))
    _restatus(conn, row.machine_id, now, reason="trial extended")
    record(
        conn,
        AuditAction.DEVICE_EXTEND_TRIAL,
        row.machine_id,
        actor=actor,
        now=now,
        device=device_id,
        days=days,
        trial_end=end.isoformat(),
    )
    return end


def free_seat(conn: sa.Connection, *, device_id: str, actor: str, now: dt.datetime, reason: str | None = None) -> None:
    """Free the seat the installation's machine holds: every installation there leaves the license."""
    row = get_device(conn, device_id)
    if row.license_id is None:
        raise ApiError(ErrorCode.NO_LICENSE, "this device holds no seat")
    for other in installations_of(conn, devices.c.machine_id == row.machine_id, devices.c.license_id == row.license_id):
        unbind(conn, row=other, now=now, reason="seat freed by vendor")
    record(
        conn,
        AuditAction.DEVICE_FREE_SEAT,
        row.machine_id,
        actor=actor,
        now=now,
        device=device_id,
        license_id=row.license_id,
        reason=reason,
    )


def unbind(conn: sa.Connection, *, row: Any, now: dt.datetime, reason: str) -> None:
    """Take the installation ``row`` (read by :func:`installations_of`) off its license."""
    decision = decide(
        Situation(
            now=now,
            stored_status=row.status,
            stored_reason=row.status_reason,
            trial_end=row.trial_end,
            restriction=row.restriction,
            restriction_reason=row.restriction_reason,
            license_state=None,
        )
    )
    # A machine the vendor blocked or suspended stays so; only the seat goes.
    status_reason = reason if decision.status not in RESTRICTIONS else decision.reason
    conn.execute(
        devices.update()
        .where(devices.c.id == row.id)
        .values(license_id=None, activated_at=None, status=decision.status, status_reason=status_reason)
    )
    record_event(
        conn,
        product_id=row.product_id,
        device_id=row.id,
        kind=EventKind.DEACTIVATE,
        received_at=now,
        license_id=row.license_id,
        data={"reason": reason},
    )
