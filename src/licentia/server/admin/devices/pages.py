"""Devices: detail (machine, risk, one history), and the vendor's actions on one device.

The list is in ``pages.lists``. Blocking and freeing a seat are confirmed with
a reason, which the audit log keeps; a form that fails comes back with what was
typed and the error beside its field. Only the actions that make sense for the
installation are offered.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncEngine

from licentia.core.status import DeviceStatus
from licentia.core.vocabulary import EventKind
from licentia.server.admin.evidence.pages import ReportFormat, admin_report
from licentia.server.admin.forms import reason_of, refused_status
from licentia.server.admin.history import device_history
from licentia.server.admin.service import device_detail
from licentia.server.admin.web import Admin, Change, Posted, int_field, read_or_404, render
from licentia.server.audit import counted
from licentia.server.devices.changes import extend_trial, free_seat, get_device, installations_of, set_device_status
from licentia.server.errors import ApiError, ErrorCode
from licentia.server.evidence.risk import assess
from licentia.server.evidence.subjects import device_subject
from licentia.server.state import EngineDep, StateDep
from licentia.server.store import transactions
from licentia.server.store.tables import devices, events

router = APIRouter(prefix="/devices")
RESTRICTING = (DeviceStatus.BLOCKED.value, DeviceStatus.SUSPENDED.value)
# Which form field an error of the service belongs beside.
FIELD_OF = {ErrorCode.INVALID_DAYS: "days", ErrorCode.INVALID_NUMBER: "days"}


def device_page_data(conn: sa.Connection, device_id: str) -> dict[str, Any] | None:
    detail = device_detail(conn, device_id)
    if detail is None:
        return None
    row = detail["device"]
    machine = installations_of(conn, devices.c.machine_id == row.machine_id)
    detail["installations"] = sorted(machine, key=lambda r: r.first_seen)
    detail["hardware_changes"] = conn.execute(
        sa.select(events.c.device_id, events.c.received_at, events.c.data)
        .where(events.c.device_id.in_([r.id for r in machine]), events.c.kind == EventKind.HARDWARE_CHANGED)
        .order_by(events.c.received_at.desc())
        .limit(20)
    ).all()
    detail["history"] = device_history(conn, device_id=device_id, machine_id=row.machine_id)
    subject = device_subject(conn, device_id)
    detail["risk"] = assess(subject)
    # The notes on this installation and on its machine (the report also has its lineage's and license's).
    detail["notes"] = [n for n in subject.notes if n["device_id"] == device_id or n["machine_id"] == row.machine_id]
    return detail


def offered(device: Any) -> dict[str, bool]:
    """The actions that make sense for this installation now: each names what it does to the current state (a
    select of statuses started on another status than the current one, so one click changed it)."""
    restricted = device.status in RESTRICTING
    unlicensed = device.license_id is None
    return {
        # A licensed installation's trial is over for good; a blocked machine must be unblocked first.
        "extend_trial": unlicensed and not restricted,
        "end_trial": unlicensed and device.status == DeviceStatus.TRIAL.value,
        "free_seat": not unlicensed,
        "block": device.status != DeviceStatus.BLOCKED.value,
        "unblock": restricted,
    }


async def _device_page(
    request: Request,
    engine: AsyncEngine,
    device_id: str,
    *,
    http_status: int = 200,
    errors: dict[str, str] | None = None,
    sent: dict[str, str] | None = None,
    opened: str = "",
) -> Response:
    detail = await transactions.read_only(engine, device_page_data, device_id=device_id)
    if detail is None:
        raise HTTPException(404, f"no device {device_id!r}")
    device = detail["device"]
    return render(
        request,
        "device.html",
        refused_status(request, http_status),
        offered=offered(device),
        errors=errors or {},
        sent=sent or {},
        opened=opened,
        **detail,
    )


@router.get("/{device_id}")
async def device_page(request: Request, engine: EngineDep, admin: Admin, device_id: str) -> Response:
    return await _device_page(request, engine, device_id)


@router.get("/{device_id}/evidence")
async def device_evidence(
    request: Request, state: StateDep, admin: Admin, device_id: str, format: ReportFormat = "html"
) -> Response:
    """The evidence report of this installation, opened with the admin session."""
    return await admin_report(request, state, lambda conn: device_subject(conn, device_id), format)


async def _refused(
    request: Request, posted: Change, device_id: str, *, status: int, field: str, message: str, opened: str = ""
) -> Response:
    """The device page again, with what was typed and the refusal beside ``field``."""
    errors = {field: message}
    return await _device_page(
        request, posted.engine, device_id, http_status=status, errors=errors, sent=posted.form, opened=opened
    )


async def _change(
    request: Request, posted: Change, device_id: str, fn: Any, *, success: str, field: str, opened: str = "", **kw: Any
) -> Response:
    """Run an audited change; a refusal comes back as the page with the error beside ``field``."""
    try:
        await transactions.in_transaction(
            posted.engine, fn, now=posted.now, actor=posted.actor, device_id=device_id, **kw
        )
    except ApiError as exc:
        where = FIELD_OF.get(exc.code, field) if isinstance(exc.code, ErrorCode) else field
        return await _refused(
            request, posted, device_id, status=exc.status, field=where, message=exc.message, opened=opened
        )
    return posted.back(f"/admin/devices/{device_id}", done=success)


async def _confirmed_status(
    request: Request, posted: Change, device_id: str, *, action: str, status: str, done: str
) -> Response:
    """Set the machine's status, confirmed with a reason (kept in the audit log and the history); refused without."""
    try:
        reason = reason_of(posted.form)
    except ApiError as exc:
        return await _refused(
            request, posted, device_id, status=exc.status, field="reason", message=exc.message, opened=action
        )
    return await _change(
        request, posted, device_id, set_device_status, success=done, field="reason", opened=action,
        status=status, reason=reason,
    )  # fmt: skip


@router.post("/{device_id}/block")
async def block(request: Request, posted: Posted, device_id: str) -> Response:
    done = "Machine blocked: every installation on it."
    return await _confirmed_status(
        request, posted, device_id, action="block", status=DeviceStatus.BLOCKED.value, done=done
    )


@router.post("/{device_id}/unblock")
async def unblock(request: Request, posted: Posted, device_id: str) -> Response:
    """Lift the vendor's block or suspension: a licensed machine is registered again, another back on its trial
    (expired if its trial is over)."""
    device = await read_or_404(posted.engine, get_device, device_id=device_id)
    lifted = DeviceStatus.TRIAL if device.license_id is None else DeviceStatus.REGISTERED
    done = "Block lifted: every installation on this machine is checked as before."
    return await _confirmed_status(request, posted, device_id, action="unblock", status=lifted.value, done=done)


@router.post("/{device_id}/end-trial")
async def end_trial(request: Request, posted: Posted, device_id: str) -> Response:
    done, ended = "Trial ended: every installation on this machine.", DeviceStatus.TRIAL_EXPIRED.value
    return await _confirmed_status(request, posted, device_id, action="end-trial", status=ended, done=done)


@router.post("/{device_id}/extend-trial")
async def extend(request: Request, posted: Posted, device_id: str) -> Response:
    try:
        days = int_field(posted.form, "days")
    except ApiError as exc:
        return await _refused(request, posted, device_id, status=exc.status, field="days", message=exc.message)
    done = f"Trial extended by {counted(days, 'day')}."
    return await _change(request, posted, device_id, extend_trial, success=done, field="days", days=days)


@router.post("/{device_id}/free-seat")
async def free(request: Request, posted: Posted, device_id: str) -> Response:
    # From a license's seat list, the vendor stays on the license.
    back_to = posted.form.get("back", "")
    if not back_to.startswith("/admin/licenses/"):
        back_to = ""
    try:
        reason = reason_of(posted.form)
    except ApiError as exc:
        if back_to:
            return posted.back(back_to, error=exc.message)
        return await _refused(
            request, posted, device_id, status=exc.status, field="reason", message=exc.message, opened="free-seat"
        )
    back_to = back_to or f"/admin/devices/{device_id}"
    try:
        await transactions.in_transaction(
            posted.engine, free_seat, now=posted.now, device_id=device_id, reason=reason, actor=posted.actor
        )
    except ApiError as exc:
        return posted.back(back_to, error=exc.message)
    return posted.back(back_to, done="Seat freed.")
