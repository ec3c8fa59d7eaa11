"""The admin license page's meters section (``/admin/licenses/{id}/meters``), loaded into the page by HTMX."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response

from licentia.server.admin.web import Admin, render
from licentia.server.errors import ApiError
from licentia.server.fields import RowId
from licentia.server.meters.service import usage_of_license
from licentia.server.state import ClockDep, EngineDep
from licentia.server.store import transactions

router = APIRouter()


@router.get("/licenses/{license_id}/meters")
async def meters_section(
    request: Request, engine: EngineDep, clock: ClockDep, user: Admin, license_id: RowId
) -> Response:
    """The license page's meters section (loaded into the page, or opened alone without scripts)."""
    try:
        found = await transactions.read_only(engine, usage_of_license, license_id=license_id, now=clock.now())
    except ApiError as exc:
        raise HTTPException(404, exc.message) from exc
    fragment = request.headers.get("hx-request") == "true"
    return render(request, "license_meters_section.html", usage=found, fragment=fragment)
