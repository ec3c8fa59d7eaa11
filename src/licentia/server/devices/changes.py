"""Changes a vendor makes to a device (admin UI, developer API, CLI).

Principle 1 of DESIGN.md: a device's status only rises through these
functions or through redeeming a genuine key; none of them is reachable from
the public API.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa

from licentia.core.status import DeviceStatus, trial_status
from licentia.server.audit import record
from licentia.server.errors import ApiError
from licentia.server.events.service import record_event
from licentia.server.store.models import Device, table_of

devices = table_of(Device)
STATUSES = tuple(s.value for s in DeviceStatus)
MAX_TRIAL_EXTENSION_DAYS = 3650


def get_device(conn: sa.Connection, device_id: str) -> sa.Row[Any]:
    row = conn.execute(sa.select(devices).where(devices.c.id == device_id)).first()
    if row is None:
        raise ApiError("unknown_device", f"no device {device_id!r}", 404)
    return row


def set_device_status(
    conn: sa.Connection, *, device_id: str, status: str, actor: str, now: dt.datetime, reason: str | None = None
) -> None:
    if status not in STATUSES:
        raise ApiError("invalid_status", f"status is one of {', '.join(STATUSES)}")
    row = get_device(conn, device_id)
    if status == DeviceStatus.REGISTERED.value and row.license_id is None:
        # A registered device without a license would have no seat to count against.
        raise ApiError("no_license", "a device becomes registered by activating a license key", 409)
    conn.execute(
        devices.update()
        .where(devices.c.id == device_id)
        .values(status=status, status_reason=(reason or "set by vendor")[:200])
    )
    record(
        conn,
        actor=actor,
        action="device.set_status",
        target_type="device",
        target_id=device_id,
        now=now,
        status=status,
        previous=row.status,
        reason=reason,
    )


def extend_trial(conn: sa.Connection, *, device_id: str, days: int, actor: str, now: dt.datetime) -> dt.datetime:
    """Push the trial end ``days`` past the later of now and the current end; an expired trial reopens."""
    if not 1 <= days <= MAX_TRIAL_EXTENSION_DAYS:
        raise ApiError("invalid_days", f"days must be between 1 and {MAX_TRIAL_EXTENSION_DAYS}")
    row = get_device(conn, device_id)
    end = max(row.trial_end or now, now) + dt.timedelta(days=days)
    values: dict[str, Any] = {"trial_end": end}
    if row.status == DeviceStatus.TRIAL_EXPIRED.value:
        values.update(status=DeviceStatus.TRIAL.value, status_reason="trial extended")
    conn.execute(devices.update().where(devices.c.id == device_id).values(**values))
    record(
        conn,
        actor=actor,
        action="device.extend_trial",
        target_type="device",
        target_id=device_id,
        now=now,
        days=days,
        trial_end=end.isoformat(),
    )
    return end


def free_seat(conn: sa.Connection, *, device_id: str, actor: str, now: dt.datetime) -> None:
    """Unbind the device from its license; it falls back to whatever trial it had left."""
    row = get_device(conn, device_id)
    if row.license_id is None:
        raise ApiError("no_license", "this device holds no seat", 409)
    unbind(conn, row=row, now=now, reason="seat freed by vendor")
    record(
        conn,
        actor=actor,
        action="device.free_seat",
        target_type="device",
        target_id=device_id,
        now=now,
        license_id=row.license_id,
    )


def unbind(conn: sa.Connection, *, row: Any, now: dt.datetime, reason: str) -> None:
    status = row.status
    if status == DeviceStatus.REGISTERED.value:
        # A device the vendor blocked or suspended stays so; only the seat goes.
        status = trial_status(row.trial_end, now).value
    conn.execute(
        devices.update()
        .where(devices.c.id == row.id)
        .values(license_id=None, activated_at=None, status=status, status_reason=reason)
    )
    record_event(
        conn,
        product_id=row.product_id,
        device_id=row.id,
        kind="deactivate",
        received_at=now,
        license_id=row.license_id,
        data={"reason": reason},
    )
