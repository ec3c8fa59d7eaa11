"""The admin UI's lease section of a license page, loaded into it by HTMX, and its "free seat" button."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response

from licentia.server.admin.web import Admin, Form, render
from licentia.server.errors import ApiError
from licentia.server.fields import RowId
from licentia.server.leases.router import LeaseId
from licentia.server.leases.vendor import force_release, license_leases
from licentia.server.state import ClockDep, EngineDep
from licentia.server.store import transactions
from licentia.server.web.frame import back

router = APIRouter()


@router.get("/licenses/{license_id}/leases")
async def leases_section(
    request: Request, engine: EngineDep, clock: ClockDep, admin: Admin, license_id: RowId
) -> Response:
    """The section alone for HTMX; a whole page when opened directly (no JavaScript)."""
    try:
        found = await transactions.read_only(engine, license_leases, license_id=license_id, now=clock.now())
    except ApiError as exc:
        raise HTTPException(404, exc.message) from exc
    template = "license_leases_table.html" if request.headers.get("hx-request") else "license_leases_page.html"
    return render(request, template, license_id=license_id, found=found)


@router.post("/licenses/{license_id}/leases/{lease_id}/release")
async def release(
    engine: EngineDep, clock: ClockDep, admin: Admin, form: Form, license_id: RowId, lease_id: LeaseId
) -> Response:
    back_to = f"/admin/licenses/{license_id}"
    try:
        view = await transactions.in_transaction(
            engine, force_release, license_id=license_id, lease_id=lease_id, actor=admin.label, now=clock.now()
        )
    except ApiError as exc:
        return back(back_to, error=exc.message)
    return back(back_to, done=f"Lease {lease_id} is {view['state'].replace('_', ' ')}: its seat is free.")
