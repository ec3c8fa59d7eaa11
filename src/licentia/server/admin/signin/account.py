"""The signed-in admin's own account: role, second factor (TOTP) enrolment and removal."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, Request
from fastapi.responses import Response

from licentia.server.admin.web import Admin, Form, render
from licentia.server.auth.accounts import users
from licentia.server.auth.roles import DESCRIPTIONS, Role
from licentia.server.auth.second_factor import (
    confirm_enrolment,
    pending_enrolment,
    start_enrolment,
    turn_off,
)
from licentia.server.errors import ApiError, ErrorCode
from licentia.server.state import in_transaction, read_only, state_of
from licentia.server.web.frame import back, now

router = APIRouter(prefix="/account")


def _account(conn: sa.Connection, *, user_id: int, fernet: Any) -> dict[str, Any]:
    row = conn.execute(sa.select(users).where(users.c.id == user_id)).one()
    return {
        "enabled": row.totp_enabled_at is not None,
        "enabled_at": row.totp_enabled_at,
        "recovery_left": len(row.recovery_hashes or []),
        "pending": pending_enrolment(conn, user_id=user_id, fernet=fernet),
    }


async def _page(request: Request, admin: Any, **extra: Any) -> Response:
    fernet = state_of(request.app).settings.fernet()
    account = await read_only(request, _account, user_id=admin.user_id, fernet=fernet)
    role = Role(admin.role)
    return render(request, "account.html", account=account, role=role, role_text=DESCRIPTIONS[role], **extra)


@router.get("")
async def account_page(request: Request, admin: Admin) -> Response:
    return await _page(request, admin)


@router.post("/totp/start")
async def totp_start(request: Request, admin: Admin, form: Form) -> Response:
    fernet = state_of(request.app).settings.fernet()
    try:
        await in_transaction(request, start_enrolment, user_id=admin.user_id, fernet=fernet)
    except ApiError as exc:
        return back("/admin/account", error=exc.message)
    return back("/admin/account")


@router.post("/totp/confirm")
async def totp_confirm(request: Request, admin: Admin, form: Form) -> Response:
    fernet = state_of(request.app).settings.fernet()
    try:
        codes = await in_transaction(
            request,
            confirm_enrolment,
            user_id=admin.user_id,
            code=form.get("code", ""),
            fernet=fernet,
            now=now(request),
            actor=admin.label,
        )
    except ApiError as exc:
        return back("/admin/account", error=exc.message)
    # Shown once: only their hashes are kept.
    return await _page(request, admin, recovery_codes=codes, message="Two-step sign-in is on.")


@router.post("/totp/off")
async def totp_off(request: Request, admin: Admin, form: Form) -> Response:
    from licentia.server.auth.second_factor import _step_accepted

    fernet = state_of(request.app).settings.fernet()

    def job(conn: sa.Connection) -> None:
        # A current code, not only the session: a session left open on a shared
        # computer must not be enough to remove the second factor.
        row = conn.execute(sa.select(users).where(users.c.id == admin.user_id)).one()
        if not _step_accepted(conn, row, form.get("code", ""), fernet, now(request)):
            raise ApiError(ErrorCode.INVALID_TOTP_CODE, "that code is wrong or was already used")
        turn_off(conn, user_id=admin.user_id, now=now(request), actor=admin.label)

    try:
        await in_transaction(request, job)
    except ApiError as exc:
        return back("/admin/account", error=exc.message)
    return back("/admin/account", done="Two-step sign-in is off.")
