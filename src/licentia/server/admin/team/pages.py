"""The admins (owners only): add one with a role, change roles, disable, reset a second factor, remove.

Owner-only for every post is enforced centrally (``admin.roles.needed_for``);
the pages themselves refuse other roles too, since the list shows who can sign in.
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncEngine

from licentia.server.admin.forms import NOT_CONFIRMED, Refused, confirmed, refused, render_form
from licentia.server.admin.web import Admin, Form, Posted
from licentia.server.auth.accounts import CurrentAdmin, create_admin
from licentia.server.auth.roles import DESCRIPTIONS, Role
from licentia.server.auth.second_factor import turn_off
from licentia.server.auth.team import list_admins, remove_admin, set_active, set_role
from licentia.server.errors import ApiError, ErrorCode
from licentia.server.fields import RowId
from licentia.server.state import EngineDep
from licentia.server.store import transactions

router = APIRouter(prefix="/admins")
HERE = "/admin/admins"
# Which field of the add form an error of the service belongs beside.
FIELD_OF = {
    ErrorCode.INVALID_EMAIL: "email",
    ErrorCode.ADMIN_EXISTS: "email",
    ErrorCode.WEAK_PASSWORD: "password",
    ErrorCode.INVALID_ROLE: "role",
}


def _owner(admin: CurrentAdmin) -> None:
    if not admin.may(Role.OWNER):
        raise HTTPException(403, "Only an owner manages the admins.")


async def _admins(request: Request, engine: AsyncEngine, refusal: Refused | None = None) -> Response:
    team = await transactions.read_only(engine, list_admins)
    return render_form(request, "admins.html", refusal, admins=team, roles=DESCRIPTIONS)


@router.get("")
async def admins_page(request: Request, engine: EngineDep, admin: Admin) -> Response:
    _owner(admin)
    return await _admins(request, engine)


@router.post("")
async def admin_create(request: Request, form: Form, posted: Posted) -> Response:
    async def again(exc: ApiError) -> Response:  # the form as it was typed (never the password), the error beside
        typed = {name: value for name, value in form.items() if name != "password"}
        return await _admins(request, posted.engine, refused(request, exc, typed, FIELD_OF))

    return await posted.run(
        create_admin,
        success=f"Admin {form.get('email', '').strip().lower()} added.",
        back_to=HERE,
        refused=again,
        email=form.get("email", ""),
        password=form.get("password", ""),
        role=form.get("role", Role.VIEWER.value),
    )


@router.post("/{user_id}/role")
async def admin_role(form: Form, user_id: RowId, posted: Posted) -> Response:
    role = form.get("role", "")
    return await posted.run(set_role, success="Role changed.", back_to=HERE, user_id=user_id, role=role)


@router.post("/{user_id}/{change}")
async def admin_change(admin: Admin, form: Form, user_id: RowId, change: str, posted: Posted) -> Response:
    if change in ("disable", "enable"):
        active = change == "enable"
        return await posted.run(set_active, success=f"Admin {change}d.", back_to=HERE, user_id=user_id, active=active)
    if change == "reset-totp":
        return await posted.run(
            turn_off,
            success="Second factor reset: they sign in with the password and enrol again.",
            back_to=HERE,
            user_id=user_id,
        )
    if change == "remove":
        if not confirmed(form):
            return posted.back(HERE, error=NOT_CONFIRMED)
        return await posted.run(remove_admin, success="Admin removed.", back_to=HERE, user_id=user_id)
    raise HTTPException(404, f"no admin action {change!r}")
