"""The admin UI's user-seat section of a license page (seats that are people): name, free and move people."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter
from fastapi.responses import Response

from licentia.server.admin.licenses.sections import add_license_section
from licentia.server.admin.web import Posted
from licentia.server.fields import RowId
from licentia.server.users import service

router = APIRouter()


def _section(conn: sa.Connection, *, license_id: int, now: dt.datetime) -> dict[str, Any]:
    lic, terms = service.user_license(conn, license_id)
    users = service.list_users(conn, license_id=license_id)
    seated = sum(1 for user in users if user["seated_at"])
    return {"users": users, "seated": seated, "seats": int(terms["max_devices"]), "customer": lic.customer_email}


# The section alone for HTMX; a whole page when opened directly (no JavaScript).
add_license_section(router, "users", _section, fragment="license_users_table.html", page="license_users_page.html")


@router.post("/licenses/{license_id}/users")
async def assign(posted: Posted, license_id: RowId) -> Response:
    email, seat = posted.form.get("email", ""), posted.form.get("when") != "sign_in"
    said = "holds a seat" if seat else "takes a seat at their first sign-in, if one is free"
    return await posted.run(
        service.assign_user,
        success=lambda changed: f"{email} {said}." if changed else f"{email} was already named on this license.",
        back_to=f"/admin/licenses/{license_id}",
        license_id=license_id,
        email=email,
        seat=seat,
    )


@router.post("/licenses/{license_id}/users/free")
async def free(posted: Posted, license_id: RowId) -> Response:
    email = posted.form.get("email", "")
    return await posted.run(
        service.free_user,
        success=lambda left: f"{email}'s seat is free; {left} installation(s) left the license.",
        back_to=f"/admin/licenses/{license_id}",
        license_id=license_id,
        email=email,
        reason=posted.form.get("reason") or None,
    )


@router.post("/licenses/{license_id}/users/reassign")
async def reassign(posted: Posted, license_id: RowId) -> Response:
    email, to = posted.form.get("email", ""), posted.form.get("to", "")
    return await posted.run(
        service.reassign_user,
        success=f"{email}'s seat now belongs to {to}.",
        back_to=f"/admin/licenses/{license_id}",
        license_id=license_id,
        email=email,
        to=to,
    )
