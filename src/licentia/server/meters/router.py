"""``POST /v1/consume``: an application counts units of a meter (the developer API and admin page read usage)."""

from __future__ import annotations

from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from licentia.server.credentials import DeviceCredential
from licentia.server.errors import ApiError, error_body
from licentia.server.meters.service import QuotaExceeded, consume
from licentia.server.policies.knobs import MAX_SAFE_INTEGER
from licentia.server.state import ClockDep, WriterDep

router = APIRouter(prefix="/v1", tags=["meters"])

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


_CONSUME_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "`invalid_credential`, or `stale_token`: check first, then consume"},
    403: {"description": "`not_registered` (no seat), `license_suspended`/`revoked`/`expired`, `machine_restricted`"},
    404: {"description": "`unknown_meter`: the license's type has no such meter"},
    409: {"description": "`quota_exceeded` (the error carries the figures), `idempotency_key_reused`"},
}


@router.post("/consume", response_model=MeterFigures, responses=_CONSUME_ERRORS)
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
