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
from licentia.server.state import read_only

router = APIRouter(prefix="/admins")
HERE = "/admin/admins"


def _owner(admin: CurrentAdmin) -> None:
    if not admin.may(Role.OWNER):
        raise HTTPException(403, "Only an owner manages the admins.")


@router.get("")
async def admins_page(request: Request, admin: Admin) -> Response:
    _owner(admin)
    return render(request, "admins.html", admins=await read_only(request, list_admins), roles=DESCRIPTIONS)


@router.post("")
async def admin_create(request: Request, admin: Admin, form: Form) -> Response:
    return await act(
        request, create_admin, success=f"Admin {form.get('email', '').strip().lower()} added.", back_to=HERE,
        email=form.get("email", ""), password=form.get("password", ""), role=form.get("role", Role.VIEWER.value),
        actor=admin.label,
    )  # fmt: skip


@router.post("/{user_id}/role")
async def admin_role(request: Request, admin: Admin, form: Form, user_id: RowId) -> Response:
    role = form.get("role", "")
    return await act(
        request, set_role, success="Role changed.", back_to=HERE, user_id=user_id, role=role, actor=admin.label
    )


@router.post("/{user_id}/{change}")
async def admin_change(request: Request, admin: Admin, form: Form, user_id: RowId, change: str) -> Response:
    if change in ("disable", "enable"):
        active = change == "enable"
        return await act(
            request, set_active, success=f"Admin {change}d.", back_to=HERE, user_id=user_id, active=active,
            actor=admin.label,
        )  # fmt: skip
    if change == "reset-totp":
        return await act(
            request, turn_off, success="Second factor reset: they sign in with the password and enrol again.",
            back_to=HERE, user_id=user_id, actor=admin.label,
        )  # fmt: skip
    if change == "remove":
        return await act(
            request, remove_admin, success="Admin removed.", back_to=HERE, user_id=user_id, actor=admin.label
        )
    raise HTTPException(404, f"no admin action {change!r}")
