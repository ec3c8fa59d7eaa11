"""Developer API: ``/v1/admin/payments/mappings`` (read token to list, write token to change)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Path
from fastapi.responses import Response
from pydantic import BaseModel

from licentia.server.adminapi.bearer import ReadActor, WriteActor
from licentia.server.payments.mapping import MappingSpec, add_mapping, list_mappings, remove_mapping
from licentia.server.state import ClockDep, EngineDep
from licentia.server.store import transactions

router = APIRouter(prefix="/v1/admin/payments", tags=["developer API"])


# The body is the domain's own definition, under the name the OpenAPI has always given it.
class MappingCreate(MappingSpec):
    pass


class MappingOut(BaseModel):
    id: int
    provider: str
    external_id: str
    product: str
    policy_id: int | None
    max_devices: int | None
    duration_days: int | None
    features: list[str]
    on_refund: str
    organisation: bool
    created_at: dt.datetime


@router.get("/mappings", response_model=list[MappingOut])
async def mappings(engine: EngineDep, actor: ReadActor) -> list[dict[str, Any]]:
    """Every provider product or price id mapped to a product and license type."""
    return await transactions.read_only(engine, list_mappings)


@router.post("/mappings", status_code=201, response_model=MappingOut)
async def create_mapping(engine: EngineDep, clock: ClockDep, body: MappingCreate, actor: WriteActor) -> dict[str, Any]:
    """Map a provider's product or price id; its paid orders then issue licenses of this product and type."""
    now = clock.now()

    def job(conn: Any) -> dict[str, Any]:
        made = add_mapping(conn, body, actor=actor.label, now=now)
        return next(m for m in list_mappings(conn) if m["id"] == made)

    return await transactions.in_transaction(engine, job)


@router.delete("/mappings/{mapping_id}", status_code=204)
async def delete_mapping(
    engine: EngineDep, clock: ClockDep, mapping_id: Annotated[int, Path(ge=1, le=2**62)], actor: WriteActor
) -> Response:
    """Stop mapping this id (licenses already issued stay as they are)."""
    await transactions.in_transaction(engine, remove_mapping, mapping_id=mapping_id, actor=actor.label, now=clock.now())
    return Response(status_code=204)
