"""The developer API's proxy-log trail switches: a product's trail and one-time usage post (audited)."""

from __future__ import annotations

from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Path
from pydantic import BaseModel, Field

from licentia.server.adminapi.bearer import ReadActor, WriteActor
from licentia.server.adminapi.router import ERRORS
from licentia.server.fields import Strict
from licentia.server.products.changes import change_proxy_trail
from licentia.server.products.service import get_product
from licentia.server.state import ClockDep, EngineDep
from licentia.server.store import transactions

router = APIRouter(prefix="/v1/admin", tags=["developer API: proxy-log trail"])
ProductSlug = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")]


class TrailSettings(BaseModel):
    proxy_trail: bool = Field(description="Applications send each install, register and usage report also as a GET.")
    usage_report_once: bool = Field(description="One usage report only, usage_report_days after registration.")


class TrailChange(Strict):
    proxy_trail: bool | None = None
    usage_report_once: bool | None = None


def _settings(conn: sa.Connection, *, product: str) -> dict[str, Any]:
    row = get_product(conn, product)
    return {"proxy_trail": row.proxy_trail, "usage_report_once": row.usage_report_once}


@router.get("/products/{slug}/proxy-trail", response_model=TrailSettings, responses=ERRORS)
async def trail_settings(engine: EngineDep, slug: ProductSlug, actor: ReadActor) -> dict[str, Any]:
    """Whether the product's applications send the proxy-log trail, and report usage once only."""
    return await transactions.read_only(engine, _settings, product=slug)


@router.patch("/products/{slug}/proxy-trail", response_model=TrailSettings, responses=ERRORS)
async def change_trail(
    engine: EngineDep, clock: ClockDep, slug: ProductSlug, body: TrailChange, actor: WriteActor
) -> dict[str, Any]:
    """Turn the trail or the one-time usage post on or off; applications follow at their next online check."""

    def change(conn: sa.Connection) -> dict[str, Any]:
        now = clock.now()
        current = _settings(conn, product=slug)
        wanted = {**current, **body.model_dump(exclude_none=True)}
        change_proxy_trail(conn, product_id=get_product(conn, slug).id, actor=actor.label, now=now, **wanted)
        return wanted

    return await transactions.in_transaction(engine, change)
