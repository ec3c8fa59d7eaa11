"""The signed-in admin's own account: role, second factor (TOTP) enrolment and removal."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncEngine

from licentia.server.admin.web import Admin, Flashes, Form, Posted, render
from licentia.server.auth.roles import DESCRIPTIONS, Role
from licentia.server.auth.second_factor import (
    confirm_enrolment,
    pending_enrolment,
    start_enrolment,
    turn_off,
)
from licentia.server.errors import ApiError, ErrorCode
from licentia.server.settings import Settings
from licentia.server.state import ClockDep, EngineDep, SettingsDep
from licentia.server.store import transactions
from licentia.server.store.tables import admin_users as users

router = APIRouter(prefix="/account")


def _account(conn: sa.Connection, *, user_id: int, fernet: Any) -> dict[str, Any]:
    row = conn.execute(sa.select(users).where(users.c.id == user_id)).one()
    return {
        "enabled": row.totp_enabled_at is not None,
        "enabled_at": row.totp_enabled_at,
        "recovery_left": len(row.recovery_hashes or []),
        "pending": pending_enrolment(conn, user_id=user_id, fernet=fernet),
    }


async def _page(request: Request, engine: AsyncEngine, settings: Settings, admin: Any, **extra: Any) -> Response:
    fernet = settings.fernet()
    account = await transactions.read_only(engine, _account, user_id=admin.user_id, fernet=fernet)
    role = Role(admin.role)
    return render(request, "account.html", account=account, role=role, role_text=DESCRIPTIONS[role], **extra)


@router.get("")
async def account_page(request: Request, engine: EngineDep, settings: SettingsDep, admin: Admin) -> Response:
    return await _page(request, engine, settings, admin)


@router.post("/totp/start")
async def totp_start(engine: EngineDep, settings: SettingsDep, admin: Admin, form: Form, flash: Flashes) -> Response:
    fernet = settings.fernet()
    try:
        await transactions.in_transaction(engine, start_enrolment, user_id=admin.user_id, fernet=fernet)
    except ApiError as exc:
        return flash.back("/admin/account", error=exc.message)
    return flash.back("/admin/account")


@router.post("/totp/confirm")
async def totp_confirm(
    request: Request,
    engine: EngineDep,
    clock: ClockDep,
    settings: SettingsDep,
    admin: Admin,
    form: Form,
    flash: Flashes,
) -> Response:
    fernet = settings.fernet()
    try:
        codes = await transactions.in_transaction(
            engine,
            confirm_enrolment,
            user_id=admin.user_id,
            code=form.get("code", ""),
            fernet=fernet,
            now=clock.now(),
            actor=admin.label,
        )
    except ApiError as exc:
        return flash.back("/admin/account", error=exc.message)
    # Shown once: only their hashes are kept.
    return await _page(request, engine, settings, admin, recovery_codes=codes, message="Two-step sign-in is on.")


@router.post("/totp/off")
async def totp_off(settings: SettingsDep, admin: Admin, posted: Posted) -> Response:
    from licentia.server.auth.second_factor import _step_accepted

    fernet = settings.fernet()

    def job(conn: sa.Connection, *, now: dt.datetime, actor: str) -> None:
        # A current code, not only the session: a session left open on a shared
        # computer must not be enough to remove the second factor.
        row = conn.execute(sa.select(users).where(users.c.id == admin.user_id)).one()
        if not _step_accepted(conn, row, posted.form.get("code", ""), fernet, now):
            raise ApiError(ErrorCode.INVALID_TOTP_CODE, "that code is wrong or was already used")
        turn_off(conn, user_id=admin.user_id, now=now, actor=actor)

    return await posted.run(job, success="Two-step sign-in is off.", back_to="/admin/account")
