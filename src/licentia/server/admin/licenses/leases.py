"""The admin UI's lease section of a license page, loaded into it by HTMX, and its "free seat" button."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from licentia.server.admin.licenses.sections import add_license_section
from licentia.server.admin.web import Posted
from licentia.server.fields import RowId
from licentia.server.leases.router import LeaseId
from licentia.server.leases.vendor import force_release, license_leases

router = APIRouter()
# The section alone for HTMX; a whole page when opened directly (no JavaScript).
add_license_section(
    router, "leases", license_leases, fragment="license_leases_table.html", page="license_leases_page.html"
)


@router.post("/licenses/{license_id}/leases/{lease_id}/release")
async def release(posted: Posted, license_id: RowId, lease_id: LeaseId) -> Response:
    return await posted.run(
        force_release,
        success=lambda view: f"Lease {lease_id} is {view['state'].replace('_', ' ')}: its seat is free.",
        back_to=f"/admin/licenses/{license_id}",
        license_id=license_id,
        lease_id=lease_id,
    )
