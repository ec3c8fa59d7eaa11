"""The developer API's test mode: a product's switch and address, and the posts it kept apart (audited)."""

from __future__ import annotations

from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Path
from pydantic import BaseModel, Field

from licentia.server.adminapi.bearer import ReadActor, WriteActor
from licentia.server.adminapi.router import ERRORS
from licentia.server.fields import Strict
from licentia.server.products.service import get_product
from licentia.server.products.test_mode import posts_in_test_mode, set_test_mode
from licentia.server.state import ClockDep, EngineDep
from licentia.server.store import transactions

router = APIRouter(prefix="/v1/admin", tags=["developer API: test mode"])
ProductSlug = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")]


class TestMode(BaseModel):
    test_mode: bool = Field(description="Every post of the product's applications is kept apart, echoed and emailed.")
    test_email: str | None = Field(description="Where each test post is emailed (none: not emailed).")


class TestModeChange(Strict):
    test_mode: bool | None = None
    test_email: str | None = Field(default=None, max_length=320, description="An empty string: not emailed.")


class TestPost(BaseModel):
    id: int
    received_at: str
    action: str = Field(description="check, activate, deactivate or trail")
    body: dict[str, Any] = Field(description="The post as received (a license key masked).")
    server: dict[str, Any] = Field(description="What the server saw: time, external IP, time zone.")


def _mode(conn: sa.Connection, *, product: str) -> dict[str, Any]:
    row = get_product(conn, product)
    return {"test_mode": row.test_mode, "test_email": row.test_email}


@router.get("/products/{slug}/test-mode", response_model=TestMode, responses=ERRORS)
async def test_mode(engine: EngineDep, slug: ProductSlug, actor: ReadActor) -> dict[str, Any]:
    """Whether the product is in test mode, and where its test posts are emailed."""
    return await transactions.read_only(engine, _mode, product=slug)


@router.patch("/products/{slug}/test-mode", response_model=TestMode, responses=ERRORS)
async def change_test_mode(
    engine: EngineDep, clock: ClockDep, slug: ProductSlug, body: TestModeChange, actor: WriteActor
) -> dict[str, Any]:
    """Turn test mode on or off, or change its address (an empty string: test posts are not emailed)."""

    def change(conn: sa.Connection) -> dict[str, Any]:
        wanted = {**_mode(conn, product=slug), **body.model_dump(exclude_unset=True)}
        on = bool(wanted["test_mode"])
        product_id = get_product(conn, slug).id
        set_test_mode(
            conn, product_id=product_id, on=on, email=wanted["test_email"], actor=actor.label, now=clock.now()
        )
        return _mode(conn, product=slug)

    return await transactions.in_transaction(engine, change)


@router.get("/products/{slug}/test-posts", response_model=list[TestPost], responses=ERRORS)
async def test_posts(engine: EngineDep, slug: ProductSlug, actor: ReadActor) -> list[dict[str, Any]]:
    """The product's latest test posts (50), newest first."""

    def read(conn: sa.Connection) -> list[dict[str, Any]]:
        return posts_in_test_mode(conn, product_id=get_product(conn, slug).id)

    return await transactions.read_only(engine, read)
