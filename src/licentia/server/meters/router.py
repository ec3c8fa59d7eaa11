"""``POST /v1/consume`` (applications), a license's usage in the developer API and on the admin license page."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from licentia.server.admin.web import Admin, render
from licentia.server.adminapi.schemas import RowId
from licentia.server.auth.bearer import ReadActor
from licentia.server.credentials import DeviceCredential
from licentia.server.errors import ApiError, error_body
from licentia.server.licenses.changes import get_license
from licentia.server.meters.service import QuotaExceeded, consume, license_usage, usage_history
from licentia.server.policies.knobs import MAX_SAFE_INTEGER
from licentia.server.state import ClockDep, WriterDep, read_only, state_of

public = APIRouter(prefix="/v1", tags=["meters"])
developer = APIRouter(prefix="/v1/admin", tags=["developer API"])
admin = APIRouter(prefix="/admin", include_in_schema=False)

MeterName = Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9_.-]{0,63}$")]


class ConsumeRequest(BaseModel):
    meter: MeterName
    amount: Annotated[int, Field(ge=0, le=MAX_SAFE_INTEGER)] = 1
    # The rotating token of the installation's last status answer (copies hold an older one).
    token: Annotated[str | None, Field(max_length=200)] = None
    # Chosen by the caller, unique per consumption: a retry with the same key is counted once.
    idempotency_key: Annotated[str | None, Field(pattern=r"^[\x21-\x7e]{1,64}$")] = None


class MeterFigures(BaseModel):
    meter: str
    used: int
    limit: int
    remaining: int
    period: str
    period_start: str
    period_end: str | None
    replayed: bool


class LicenseUsage(BaseModel):
    license_id: int
    key_prefix: str
    meters: list[MeterFigures]
    history: list[dict[str, Any]]


_CONSUME_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "`invalid_credential`, or `stale_token`: check first, then consume"},
    403: {"description": "`not_registered` (no seat), `license_suspended`/`revoked`/`expired`, `machine_restricted`"},
    404: {"description": "`unknown_meter`: the license's type has no such meter"},
    409: {"description": "`quota_exceeded` (the error carries the figures), `idempotency_key_reused`"},
}


@public.post("/consume", response_model=MeterFigures, responses=_CONSUME_ERRORS)
async def consume_meter(
    writer: WriterDep, clock: ClockDep, body: ConsumeRequest, credential: DeviceCredential
) -> dict[str, Any] | Response:
    """Count ``amount`` units of a meter for the calling installation's license; answers what remains.

    Past the limit nothing is counted and the answer is 409 ``quota_exceeded``
    with the same figures. ``amount`` 0 only reads them.
    """
    now = clock.now()

    def job(conn: sa.Connection) -> dict[str, Any] | ApiError:
        # A refusal is returned, not raised: it wrote nothing, and a raising job
        # makes the writer roll its whole batch back and run each job alone.
        try:
            return consume(
                conn,
                credential=credential,
                token=body.token,
                meter=body.meter,
                amount=body.amount,
                now=now,
                idempotency_key=body.idempotency_key,
            ).as_dict()
        except ApiError as exc:
            return exc

    outcome = await writer.run(job)
    if isinstance(outcome, QuotaExceeded):
        return JSONResponse(error_body(outcome.code, outcome.message, **outcome.figures.as_dict()), status_code=409)
    if isinstance(outcome, ApiError):
        raise outcome
    return outcome


def _usage(conn: sa.Connection, license_id: int, now: dt.datetime) -> dict[str, Any]:
    row = get_license(conn, license_id)
    return {
        "license_id": row.id,
        "key_prefix": row.key_prefix,
        "meters": [f.as_dict() for f in license_usage(conn, row, now)],
        "history": usage_history(conn, row.id),
    }


@developer.get("/licenses/{license_id}/usage", response_model=LicenseUsage)
async def usage_of_license(request: Request, license_id: RowId, actor: ReadActor) -> dict[str, Any]:
    """Each meter of the license: used, limit and what remains in the current period, and past periods."""
    return await read_only(request, _usage, license_id=license_id, now=state_of(request.app).clock.now())


@admin.get("/licenses/{license_id}/meters")
async def meters_section(request: Request, user: Admin, license_id: RowId) -> Response:
    """The license page's meters section (loaded into the page, or opened alone without scripts)."""
    try:
        found = await read_only(request, _usage, license_id=license_id, now=state_of(request.app).clock.now())
    except ApiError as exc:
        raise HTTPException(404, exc.message) from exc
    fragment = request.headers.get("hx-request") == "true"
    return render(request, "license_meters_section.html", usage=found, fragment=fragment)


ROUTERS = (public, developer, admin)
