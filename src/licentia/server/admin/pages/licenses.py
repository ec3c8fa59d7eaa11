"""Licenses: issue (the key is shown once and emailed) and change (the list is in ``pages.lists``)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response

from licentia.core.clock import UTC
from licentia.core.status import LicenseState
from licentia.server.admin.lists import LicenseFilter
from licentia.server.admin.pages.lists import license_list
from licentia.server.admin.pages.policies import policies_of
from licentia.server.admin.web import Admin, Form, act, back, int_field, now, render
from licentia.server.adminapi.schemas import RowId
from licentia.server.errors import ApiError, ErrorCode
from licentia.server.licenses.changes import (
    change_state,
    change_terms,
    issue_and_email,
    license_devices,
    license_view,
    renew,
    set_max_devices,
)
from licentia.server.licenses.service import OrderRefInUse, licenses
from licentia.server.state import in_transaction, read_only, state_of

router = APIRouter()
STATES = tuple(s.value for s in LicenseState)


def _date(text: str) -> dt.datetime | None:
    if not text.strip():
        return None
    try:
        day = dt.date.fromisoformat(text.strip())
    except ValueError as exc:
        raise ApiError(ErrorCode.INVALID_DATE, f"{text!r} is not a date (YYYY-MM-DD)") from exc
    return dt.datetime.combine(day, dt.time(23, 59, 59), tzinfo=UTC)


async def _issue_refused(request: Request, form: dict[str, str], exc: ApiError) -> Response:
    """The issue form again, open and filled as it was sent, with the error next to its field."""
    in_use = exc if isinstance(exc, OrderRefInUse) else None
    return await license_list(
        request,
        found=LicenseFilter(),
        http_status=exc.status,
        sent=form,
        order_ref_in_use=in_use,
        error=None if in_use else exc.message,
    )


@router.post("/licenses")
async def issue(request: Request, admin: Admin, form: Form) -> Response:
    try:
        max_devices = int_field(form, "max_devices") if form.get("max_devices", "").strip() else None
        issued = await in_transaction(
            request,
            issue_and_email,
            product=form.get("product", ""),
            email=form.get("email", ""),
            name=form.get("name") or None,
            max_devices=max_devices,
            expires_at=_date(form.get("expires", "")),
            order_ref=form.get("order_ref") or None,
            policy=form.get("policy") or None,
            source="admin",
            send_email=form.get("send_email") == "on",
            fernet=state_of(request.app).fernet,
            actor=admin.label,
            now=now(request),
        )
    except ApiError as exc:
        return await _issue_refused(request, form, exc)
    view = await read_only(request, license_view, license_id=issued.id)
    # The clear key exists only in this response: it is stored hashed.
    return render(request, "license_issued.html", key=issued.key, license=view, emailed=form.get("send_email") == "on")


@router.get("/licenses/{license_id}")
async def license_page(request: Request, admin: Admin, license_id: RowId) -> Response:
    try:
        view = await read_only(request, license_view, license_id=license_id)
    except ApiError as exc:
        raise HTTPException(404, exc.message) from exc
    seats = await read_only(request, license_devices, license_id=license_id)
    types = await read_only(request, policies_for_license, license_id=license_id)
    return render(request, "license.html", license=view, seats=seats, types=types)


@router.post("/licenses/{license_id}/{action}")
async def license_action(request: Request, admin: Admin, form: Form, license_id: RowId, action: str) -> Response:
    back_to = f"/admin/licenses/{license_id}"
    try:
        if action in ("suspend", "reinstate", "revoke"):
            return await act(
                request,
                change_state,
                success=f"License {action}d." if action != "revoke" else "License revoked; its seats were freed.",
                back_to=back_to,
                license_id=license_id,
                action=action,
                actor=admin.label,
            )
        if action == "renew":
            days = int_field(form, "days") if form.get("days", "").strip() else None
            expires = _date(form.get("expires", ""))
            if days is None and expires is None:
                raise ApiError(ErrorCode.INVALID_EXPIRY, "give a new expiry date or a number of days")
            return await act(
                request,
                renew,
                success="License renewed.",
                back_to=back_to,
                license_id=license_id,
                days=days,
                expires_at=expires,
                actor=admin.label,
            )
        if action == "terms":
            until = _date(form.get("maintenance_until", ""))
            return await act(
                request,
                change_terms,
                success="License terms changed; its devices follow at their next check.",
                back_to=back_to,
                license_id=license_id,
                policy=form.get("policy") or None,
                maintenance_until=until,
                clear_maintenance=form.get("maintenance_forever") == "on",
                actor=admin.label,
            )
        if action == "max-devices":
            return await act(
                request,
                set_max_devices,
                success="Device limit changed.",
                back_to=back_to,
                license_id=license_id,
                max_devices=int_field(form, "max_devices"),
                actor=admin.label,
            )
    except ApiError as exc:
        return back(back_to, error=exc.message)
    raise HTTPException(404, f"unknown license action {action!r}")


def policies_for_license(conn: sa.Connection, license_id: int) -> list[Any]:
    product_id = conn.execute(sa.select(licenses.c.product_id).where(licenses.c.id == license_id)).scalar_one()
    return policies_of(conn, product_id)
