"""Devices: detail, and the vendor's actions on one device (the list is in ``pages.lists``)."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response

from licentia.server.admin.service import device_detail
from licentia.server.admin.web import Admin, Form, act, back, int_field, render
from licentia.server.devices.changes import STATUSES, extend_trial, free_seat, set_device_status
from licentia.server.errors import ApiError
from licentia.server.state import read_only

router = APIRouter(prefix="/devices")


@router.get("/{device_id}")
async def device_page(request: Request, admin: Admin, device_id: str) -> Response:
    detail = await read_only(request, device_detail, device_id=device_id)
    if detail is None:
        raise HTTPException(404, f"no device {device_id!r}")
    return render(request, "device.html", statuses=STATUSES, **detail)


@router.post("/{device_id}/status")
async def change_status(request: Request, admin: Admin, form: Form, device_id: str) -> Response:
    status = form.get("status", "")
    return await act(
        request,
        set_device_status,
        success=f"Status set to {status}.",
        back_to=f"/admin/devices/{device_id}",
        device_id=device_id,
        status=status,
        reason=form.get("reason") or None,
        actor=admin.label,
    )


@router.post("/{device_id}/block")
async def block(request: Request, admin: Admin, form: Form, device_id: str) -> Response:
    return await act(
        request,
        set_device_status,
        success="Machine blocked: every installation on it.",
        back_to=f"/admin/devices/{device_id}",
        device_id=device_id,
        status="blocked",
        reason=form.get("reason") or "blocked by vendor",
        actor=admin.label,
    )


@router.post("/{device_id}/extend-trial")
async def extend(request: Request, admin: Admin, form: Form, device_id: str) -> Response:
    back_to = f"/admin/devices/{device_id}"
    try:
        days = int_field(form, "days")
    except ApiError as exc:
        return back(back_to, error=exc.message)
    return await act(
        request,
        extend_trial,
        success=f"Trial extended by {days} days.",
        back_to=back_to,
        device_id=device_id,
        days=days,
        actor=admin.label,
    )


@router.post("/{device_id}/free-seat")
async def free(request: Request, admin: Admin, form: Form, device_id: str) -> Response:
    return await act(
        request,
        free_seat,
        success="Seat freed.",
        back_to=f"/admin/devices/{device_id}",
        device_id=device_id,
        actor=admin.label,
    )
