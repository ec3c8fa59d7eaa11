"""Developer API: a license's metered use (``GET /v1/admin/licenses/{id}/usage``)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel

from licentia.server.adminapi.bearer import ReadActor
from licentia.server.fields import RowId
from licentia.server.meters.router import MeterFigures
from licentia.server.meters.service import usage_of_license
from licentia.server.state import ClockDep, EngineDep
from licentia.server.store import transactions

router = APIRouter(prefix="/v1/admin", tags=["developer API"])


class LicenseUsage(BaseModel):
    license_id: int
    key_prefix: str
    meters: list[MeterFigures]
    history: list[dict[str, Any]]


@router.get("/licenses/{license_id}/usage", response_model=LicenseUsage)
async def usage_of_license_api(
    engine: EngineDep, clock: ClockDep, license_id: RowId, actor: ReadActor
) -> dict[str, Any]:
    """Each meter of the license: used, limit and what remains in the current period, and past periods."""
    return await transactions.read_only(engine, usage_of_license, license_id=license_id, now=clock.now())
