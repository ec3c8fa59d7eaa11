"""The developer API's lease calls: list a license's leases, free one (audited with the token's name)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel

from licentia.server.adminapi.bearer import ReadActor, WriteActor
from licentia.server.adminapi.router import ERRORS
from licentia.server.fields import RowId
from licentia.server.leases.router import LeaseId, LeaseOut
from licentia.server.leases.vendor import force_release, license_leases
from licentia.server.state import ClockDep, EngineDep
from licentia.server.store import transactions

router = APIRouter(prefix="/v1/admin", tags=["developer API: floating leases"])


class LicenseLeases(BaseModel):
    license_id: int
    seats_used: int
    leases: list[LeaseOut]


@router.get("/licenses/{license_id}/leases", response_model=LicenseLeases, responses=ERRORS)
async def leases_of_license(engine: EngineDep, clock: ClockDep, license_id: RowId, actor: ReadActor) -> dict[str, Any]:
    """The license's floating leases, live ones first, with the machines holding a seat now (``seats_used``)."""
    now = clock.now()
    return await transactions.read_only(engine, license_leases, license_id=license_id, now=now)


@router.post("/licenses/{license_id}/leases/{lease_id}/release", response_model=LeaseOut, responses=ERRORS)
async def release_lease(
    engine: EngineDep, clock: ClockDep, license_id: RowId, lease_id: LeaseId, actor: WriteActor
) -> dict[str, Any]:
    """Free a lease's seat now (the machine hears ``lease_expired`` at its next heartbeat). Idempotent."""
    now = clock.now()
    return await transactions.in_transaction(
        engine, force_release, license_id=license_id, lease_id=lease_id, actor=actor.label, now=now
    )
