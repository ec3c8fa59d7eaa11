"""The admin UI's air-gapped activation (``/admin/offline``): answer a request, take a proof, see the list."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncEngine

from licentia.server.admin.web import Admin, checked_form, render
from licentia.server.errors import ApiError, ErrorCode
from licentia.server.offline import service
from licentia.server.offline.service import RESPONSE_FILENAME
from licentia.server.offline.uploads import uploaded_text
from licentia.server.offline.writes import answer, free
from licentia.server.state import EngineDep, StateDep
from licentia.server.store import transactions
from licentia.server.web.frame import SECURITY_HEADERS

router = APIRouter()


async def _page(
    request: Request, engine: AsyncEngine, status: int = 200, license_id: int | None = None, **context: Any
) -> Response:
    rows = await transactions.read_only(engine, service.recent_activations, license_id=license_id)
    return render(
        request,
        "offline.html",
        status,
        rows=rows,
        license_id=license_id,
        lease_days=service.DEFAULT_LEASE_DAYS,
        max_lease_days=service.MAX_LEASE_DAYS,
        **context,
    )


@router.get("/offline")
async def offline_page(
    request: Request, engine: EngineDep, admin: Admin, license: Annotated[int | None, Query(ge=1, le=2**62)] = None
) -> Response:
    return await _page(request, engine, license_id=license)


@router.post("/offline/activate")
async def activate(request: Request, state: StateDep, engine: EngineDep, admin: Admin) -> Response:
    text, fields = await uploaded_text(request, "request", lambda: checked_form(request, admin))
    try:
        try:
            lease_days = int(fields.get("lease_days") or service.DEFAULT_LEASE_DAYS)
        except ValueError as exc:
            raise ApiError(ErrorCode.INVALID_DAYS, "the lease is a whole number of days") from exc
        done = await answer(state, text, lease_days=lease_days, actor=admin.label)
    except ApiError as exc:
        return await _page(request, engine, exc.status, error=exc.message)
    headers = {**SECURITY_HEADERS, "Content-Disposition": f'attachment; filename="{RESPONSE_FILENAME}"'}
    return Response(done.response, media_type="application/octet-stream", headers=headers)


@router.post("/offline/deactivate")
async def deactivate(request: Request, state: StateDep, engine: EngineDep, admin: Admin) -> Response:
    text, _fields = await uploaded_text(request, "proof", lambda: checked_form(request, admin))
    try:
        done = await free(state, text, actor=admin.label)
    except ApiError as exc:
        return await _page(request, engine, exc.status, error=exc.message)
    freed = "its seat is free" if done.seat_freed else "it held no seat any more"
    return await _page(request, engine, message=f"Offline activation {done.activation} ended: {freed}.")
