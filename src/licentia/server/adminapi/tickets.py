"""The developer API's installer tickets: mint one per download (audited with the token's name), list them."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Path
from pydantic import BaseModel, Field, StringConstraints

from licentia.server.adminapi.bearer import ReadActor, WriteActor
from licentia.server.adminapi.router import ERRORS
from licentia.server.fields import Strict
from licentia.server.state import ClockDep, EngineDep, FernetDep
from licentia.server.store import transactions
from licentia.server.tickets.service import Download, list_tickets, mint_ticket

router = APIRouter(prefix="/v1/admin", tags=["developer API: installer tickets"])
ProductSlug = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")]


class TicketCreate(Strict):
    release: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = Field(
        default=None, description="The version of the release the download carries."
    )
    customer_id: int | None = Field(default=None, ge=1, description="The customer the download is for.")
    license_id: int | None = Field(
        default=None, ge=1, description="The license the download is for (names its customer)."
    )


class TicketOut(BaseModel):
    id: str
    product: str
    release: str | None
    customer_id: int | None
    license_id: int | None
    source: str
    issued_at: str
    issued_by: str
    installations: int = Field(description="Installations started from the ticket (reinstalls included).")
    copies: int = Field(description="Of those, the ones on another computer: copies of the download.")


class MintedTicket(BaseModel):
    id: str
    file: dict[str, Any] = Field(
        description="The signed ticket: write it as licentia-ticket.json beside the installer."
    )


@router.post("/products/{slug}/installer-tickets", status_code=201, response_model=MintedTicket, responses=ERRORS)
async def create_ticket(
    engine: EngineDep, clock: ClockDep, fernet: FernetDep, slug: ProductSlug, body: TicketCreate, actor: WriteActor
) -> dict[str, Any]:
    """Mint the installer ticket of one download: a signed file that goes beside the installer."""
    minted = await transactions.in_transaction(
        engine,
        mint_ticket,
        download=Download(slug, body.release, body.customer_id, body.license_id),
        fernet=fernet,
        actor=actor.label,
        now=clock.now(),
    )
    return {"id": minted.id, "file": json.loads(minted.signed)}


@router.get("/products/{slug}/installer-tickets", response_model=list[TicketOut], responses=ERRORS)
async def tickets_of_product(engine: EngineDep, slug: ProductSlug, actor: ReadActor) -> list[dict[str, Any]]:
    """The product's newest tickets (200 at most), each with its installations and copies."""
    return await transactions.read_only(engine, list_tickets, product=slug)
