"""Licenses: issue (the key is shown once and emailed) and change (the list is in ``pages.lists``).

A license's page carries its risk, its seats and one history (events beside
staff actions). Revoking is confirmed with a reason kept in the audit log; a
change that fails comes back with what was typed and the error beside its field.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncEngine

from licentia.core.clock import UTC, Clock
from licentia.core.status import LicenseState
from licentia.server.admin.catalog.policies import policies_of
from licentia.server.admin.customers.pages import resend_from_form
from licentia.server.admin.evidence.pages import ReportFormat, admin_report
from licentia.server.admin.forms import optional_reason, reason_of, refused_status
from licentia.server.admin.history import license_history
from licentia.server.admin.lists.pages import license_list
from licentia.server.admin.lists.specs import LicenseFilter
from licentia.server.admin.web import Admin, Flashes, Form, int_field, read_or_404, render
from licentia.server.devices.transfers import grant_transfers, reset_transfers
from licentia.server.errors import ApiError, ErrorCode
from licentia.server.evidence.risk import assess
from licentia.server.evidence.subjects import license_subject
from licentia.server.fields import RowId
from licentia.server.licenses.changes import change_state, change_terms, issue_and_email, renew, set_max_devices
from licentia.server.licenses.resend import new_resend_id, waiting_key_emails
from licentia.server.licenses.schemas import LicenseOrder, TermsChange, validated
from licentia.server.licenses.service import OrderRefInUse
from licentia.server.licenses.views import license_devices, license_view
from licentia.server.settings import Settings
from licentia.server.state import (
    AppState,
    ClockDep,
    EngineDep,
    StateDep,
)
from licentia.server.store import transactions
from licentia.server.store.tables import licenses

router = APIRouter()
STATES = tuple(s.value for s in LicenseState)
# Which form field an error of the service belongs beside.
FIELD_OF = {
    ErrorCode.INVALID_DATE: "expires",
    ErrorCode.INVALID_EXPIRY: "expires",
    ErrorCode.INVALID_DAYS: "days",
    ErrorCode.INVALID_NUMBER: "days",
    ErrorCode.REASON_REQUIRED: "reason",
}
# The field each action's form shows its errors beside, when the code alone does not say.
ACTION_FIELD = {
    "max-devices": "max_devices",
    "terms": "policy",
    "renew": "expires",
    "revoke": "reason",
    "grant-transfers": "transfers",
    "reset-transfers": "transfers",
}


def _date(text: str) -> dt.datetime | None:
    if not text.strip():
        return None
    try:
        day = dt.date.fromisoformat(text.strip())
    except ValueError as exc:
        raise ApiError(ErrorCode.INVALID_DATE, f"{text!r} is not a date (YYYY-MM-DD)") from exc
    return dt.datetime.combine(day, dt.time(23, 59, 59), tzinfo=UTC)


def _smtp_configured(settings: Settings) -> bool:
    return bool(settings.smtp_host)


# Which field of the issue form an error of the service belongs beside.
ISSUE_FIELD_OF = {
    ErrorCode.UNKNOWN_PRODUCT: "product",
    ErrorCode.INVALID_EMAIL: "email",
    ErrorCode.UNKNOWN_POLICY: "policy",
    ErrorCode.INVALID_NUMBER: "max_devices",
    ErrorCode.INVALID_POLICY: "max_devices",
    ErrorCode.INVALID_DATE: "expires",
    ErrorCode.INVALID_EXPIRY: "expires",
}


async def _issue_refused(request: Request, state: AppState, form: dict[str, str], exc: ApiError) -> Response:
    """The issue form again, open and filled as it was sent, with the error next to its field."""
    in_use = exc if isinstance(exc, OrderRefInUse) else None
    field = ISSUE_FIELD_OF.get(exc.code) if in_use is None and isinstance(exc.code, ErrorCode) else None
    if in_use is None and exc.code == ErrorCode.VALIDATION_ERROR and exc.details.get("field") in form:
        field = exc.details["field"]  # a value out of its field's shape (a name over 200 characters)
    return await license_list(
        request,
        state,
        found=LicenseFilter(),
        http_status=exc.status,
        sent=form,
        order_ref_in_use=in_use,
        errors={field: exc.message} if field else {},
        error=None if in_use or field else exc.message,
        smtp_configured=_smtp_configured(state.settings),
    )


@router.post("/licenses")
async def issue(request: Request, state: StateDep, admin: Admin, form: Form) -> Response:
    try:
        order = validated(
            LicenseOrder,
            {
                "product": form.get("product", ""),
                "email": form.get("email", "").strip(),
                "name": form.get("name") or None,
                "max_devices": int_field(form, "max_devices") if form.get("max_devices", "").strip() else None,
                "expires_at": _date(form.get("expires", "")),
                "order_ref": form.get("order_ref") or None,
                "policy": form.get("policy") or None,
                "source": "admin",
                "send_email": form.get("send_email") == "on",
            },
        )
        issued = await transactions.in_transaction(
            state.async_engine,
            issue_and_email,
            order=order,
            fernet=state.fernet,
            actor=admin.label,
            now=state.clock.now(),
        )
    except ApiError as exc:
        return await _issue_refused(request, state, form, exc)
    view = await transactions.read_only(state.async_engine, license_view, license_id=issued.id)
    # The clear key is shown only in this response: it is stored hashed and sealed, never in clear.
    return render(
        request,
        "license_issued.html",
        key=issued.key,
        license=view,
        emailed=order.send_email,
        smtp_configured=_smtp_configured(state.settings),
    )


def license_page_data(conn: sa.Connection, license_id: int, at: dt.datetime) -> dict[str, Any]:
    view = license_view(conn, license_id, seats_at=at)
    key_kept = conn.execute(
        sa.select(licenses.c.key_sealed.is_not(None)).where(licenses.c.id == license_id)
    ).scalar_one()
    return {
        "license": view,
        # Whether "Resend key" can work (never the sealed key itself: it stays out of every page).
        "key_kept": bool(key_kept),
        "key_email_waiting": bool(waiting_key_emails(conn, [license_id])),
        "resend_id": new_resend_id(),
        "seats": license_devices(conn, license_id),
        "types": policies_for_license(conn, license_id),
        "history": license_history(conn, license_id=license_id),
        **_risk_and_notes(conn, license_id),
    }


def _risk_and_notes(conn: sa.Connection, license_id: int) -> dict[str, Any]:
    subject = license_subject(conn, str(license_id))
    # The page shows the notes on the license itself; its report also has those on its installations.
    return {"risk": assess(subject), "notes": [n for n in subject.notes if n["license_id"] == license_id]}


async def _license_page(
    request: Request,
    engine: AsyncEngine,
    clock: Clock,
    license_id: int,
    *,
    http_status: int = 200,
    errors: dict[str, str] | None = None,
    sent: dict[str, str] | None = None,
    opened: str = "",
) -> Response:
    data = await read_or_404(engine, license_page_data, license_id=license_id, at=clock.now())
    return render(
        request,
        "license.html",
        refused_status(request, http_status),
        errors=errors or {},
        sent=sent or {},
        opened=opened,
        **data,
    )


async def _refused(
    request: Request,
    engine: AsyncEngine,
    clock: Clock,
    license_id: int,
    exc: ApiError,
    *,
    field: str,
    opened: str,
    sent: dict[str, str] | None = None,
) -> Response:
    """The license page again, its form ``opened`` (with what was typed) and the refusal beside ``field``."""
    errors = {field: exc.message}
    return await _license_page(
        request, engine, clock, license_id, http_status=exc.status, errors=errors, sent=sent, opened=opened
    )


@router.get("/licenses/{license_id}")
async def license_page(
    request: Request, engine: EngineDep, clock: ClockDep, admin: Admin, license_id: RowId
) -> Response:
    return await _license_page(request, engine, clock, license_id)


@router.get("/licenses/{license_id}/evidence")
async def license_evidence(
    request: Request, state: StateDep, admin: Admin, license_id: RowId, format: ReportFormat = "html"
) -> Response:
    """The evidence report of this license, opened with the admin session."""
    return await admin_report(request, state, lambda conn: license_subject(conn, str(license_id)), format)


def _change(action: str, form: dict[str, str]) -> tuple[Any, str, dict[str, Any]]:
    """The service, success message and arguments of one action of the license page."""
    if action in ("suspend", "reinstate"):
        return change_state, f"License {action}d.", {"action": action}
    if action == "revoke":
        reason = reason_of(form)
        return change_state, "License revoked; its seats were freed.", {"action": action, "reason": reason}
    if action == "renew":
        days = int_field(form, "days") if form.get("days", "").strip() else None
        expires = _date(form.get("expires", ""))
        if days is None and expires is None:
            raise ApiError(ErrorCode.INVALID_EXPIRY, "Give a new expiry date or a number of days.")
        return renew, "License renewed.", {"days": days, "expires_at": expires}
    if action == "terms":
        change = {
            "policy": form.get("policy") or None,
            "maintenance_until": _date(form.get("maintenance_until", "")),
            "maintenance_forever": form.get("maintenance_forever") == "on",
        }
        success = "License terms changed; its devices follow at their next check."
        return change_terms, success, {"change": validated(TermsChange, change)}
    if action == "max-devices":
        return set_max_devices, "Device limit changed.", {"max_devices": int_field(form, "max_devices")}
    if action == "grant-transfers":
        granted = {"transfers": int_field(form, "transfers"), "reason": optional_reason(form)}
        return grant_transfers, "More moves to another machine allowed.", granted
    if action == "reset-transfers":
        return reset_transfers, "Transfer count reset.", {"reason": optional_reason(form)}
    raise HTTPException(404, f"unknown license action {action!r}")


@router.post("/licenses/{license_id}/resend-key")
async def resend(
    request: Request, state: StateDep, clock: ClockDep, admin: Admin, form: Form, flash: Flashes, license_id: RowId
) -> Response:
    engine = state.async_engine
    try:
        done = await resend_from_form(state, admin, form, license_id=license_id)
    except ApiError as exc:
        if exc.code == ErrorCode.UNKNOWN_LICENSE:
            raise HTTPException(404, exc.message) from exc
        return await _refused(request, engine, clock, license_id, exc, field="resend", opened="resend-key")
    return flash.back(f"/admin/licenses/{license_id}", done=done)


@router.post("/licenses/{license_id}/{action}")
async def license_action(
    request: Request, engine: EngineDep, clock: ClockDep, admin: Admin, form: Form, flash: Flashes, license_id: RowId,
    action: str,
) -> Response:  # fmt: skip
    try:
        fn, success, kwargs = _change(action, form)
        await transactions.in_transaction(
            engine, fn, now=clock.now(), license_id=license_id, actor=admin.label, **kwargs
        )
    except ApiError as exc:
        field = ACTION_FIELD.get(action, "form")
        if action in ("renew", "revoke"):
            field = FIELD_OF.get(exc.code, field) if isinstance(exc.code, ErrorCode) else field
        return await _refused(request, engine, clock, license_id, exc, field=field, opened=action, sent=form)
    return flash.back(f"/admin/licenses/{license_id}", done=success)


def policies_for_license(conn: sa.Connection, license_id: int) -> list[Any]:
    product_id = conn.execute(sa.select(licenses.c.product_id).where(licenses.c.id == license_id)).scalar_one()
    return policies_of(conn, product_id)
