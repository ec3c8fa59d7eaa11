"""Developer API: ``/v1/admin/payments/mappings`` (read token to list, write token to change)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from licentia.server.adminapi.bearer import ReadActor, WriteActor
from licentia.server.fields import Feature, Slug
from licentia.server.payments.mapping import add_mapping, list_mappings, remove_mapping
from licentia.server.state import ClockDep, EngineDep
from licentia.server.store import transactions

router = APIRouter(prefix="/v1/admin/payments", tags=["developer API"])


class MappingCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    provider: Literal["stripe", "paddle", "fastspring"]
    external_id: Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=r"^\S+$")] = Field(
        description="The provider's price or product id (Stripe price_/prod_/plink_, Paddle pri_/pro_, FastSpring path)"
    )
    product: Slug
    policy_id: int | None = Field(
        default=None, ge=1, le=2**62, description="The license type; none: the product's default"
    )
    max_devices: int | None = Field(default=None, ge=1, le=36500)
    duration_days: int | None = Field(default=None, ge=1, le=36500, description="One-time purchases: days valid")
    features: list[Feature] = Field(default_factory=list, max_length=50)
    on_refund: Literal["suspend", "revoke"] = "revoke"


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
        made = add_mapping(conn, actor=actor.label, now=now, **body.model_dump())
        return next(m for m in list_mappings(conn) if m["id"] == made)

    return await transactions.in_transaction(engine, job)


@router.delete("/mappings/{mapping_id}", status_code=204)
async def delete_mapping(
    engine: EngineDep, clock: ClockDep, mapping_id: Annotated[int, Path(ge=1, le=2**62)], actor: WriteActor
) -> Response:
    """Stop mapping this id (licenses already issued stay as they are)."""
    await transactions.in_transaction(engine, remove_mapping, mapping_id=mapping_id, actor=actor.label, now=clock.now())
    return Response(status_code=204)
