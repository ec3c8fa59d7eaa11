"""The admins (owners only): add one with a role, change roles, disable, reset a second factor, remove.

Owner-only for every post is enforced centrally (``admin.roles.needed_for``);
the pages themselves refuse other roles too, since the list shows who can sign in.
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response

from licentia.server.admin.web import Admin, Form, act, render
from licentia.server.auth.accounts import CurrentAdmin, create_admin
from licentia.server.auth.roles import DESCRIPTIONS, Role
from licentia.server.auth.second_factor import turn_off
from licentia.server.auth.team import list_admins, remove_admin, set_active, set_role
from licentia.server.fields import RowId
from licentia.server.state import ClockDep, EngineDep
from licentia.server.store import transactions

router = APIRouter(prefix="/admins")
HERE = "/admin/admins"


def _owner(admin: CurrentAdmin) -> None:
    if not admin.may(Role.OWNER):
        raise HTTPException(403, "Only an owner manages the admins.")


@router.get("")
async def admins_page(request: Request, engine: EngineDep, admin: Admin) -> Response:
    _owner(admin)
    return render(request, "admins.html", admins=await transactions.read_only(engine, list_admins), roles=DESCRIPTIONS)


@router.post("")
async def admin_create(engine: EngineDep, clock: ClockDep, admin: Admin, form: Form) -> Response:
    return await act(
        engine,
        create_admin,
        now=clock.now(),
        success=f"Admin {form.get('email', '').strip().lower()} added.",
        back_to=HERE,
        email=form.get("email", ""),
        password=form.get("password", ""),
        role=form.get("role", Role.VIEWER.value),
        actor=admin.label,
    )


@router.post("/{user_id}/role")
async def admin_role(engine: EngineDep, clock: ClockDep, admin: Admin, form: Form, user_id: RowId) -> Response:
    role = form.get("role", "")
    return await act(
        engine,
        set_role,
        now=clock.now(),
        success="Role changed.",
        back_to=HERE,
        user_id=user_id,
        role=role,
        actor=admin.label,
    )


@router.post("/{user_id}/{change}")
async def admin_change(
    engine: EngineDep, clock: ClockDep, admin: Admin, form: Form, user_id: RowId, change: str
) -> Response:
    if change in ("disable", "enable"):
        active = change == "enable"
        return await act(
            engine,
            set_active,
            now=clock.now(),
            success=f"Admin {change}d.",
            back_to=HERE,
            user_id=user_id,
            active=active,
            actor=admin.label,
        )
    if change == "reset-totp":
        return await act(
            engine,
            turn_off,
            now=clock.now(),
            success="Second factor reset: they sign in with the password and enrol again.",
            back_to=HERE,
            user_id=user_id,
            actor=admin.label,
        )
    if change == "remove":
        return await act(
            engine,
            remove_admin,
            now=clock.now(),
            success="Admin removed.",
            back_to=HERE,
            user_id=user_id,
            actor=admin.label,
        )
    raise HTTPException(404, f"no admin action {change!r}")
