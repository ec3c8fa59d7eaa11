"""Developer API: ``/v1/admin/sso/connections``, single sign-on's OpenID Connect connections (read token to list,
write token to change). The client secret goes in and never comes out."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from fastapi.responses import Response
from pydantic import BaseModel

from licentia.server.adminapi.bearer import ReadActor, WriteActor
from licentia.server.sso.connections import (
    ConnectionSpec,
    add_connection,
    get_connection,
    list_connections,
    remove_connection,
)
from licentia.server.state import ClockDep, EngineDep, FernetDep
from licentia.server.store import transactions

router = APIRouter(prefix="/v1/admin/sso", tags=["developer API"])


class ConnectionOut(BaseModel):
    id: int
    purpose: str
    name: str
    issuer: str
    client_id: str
    email_domains: list[str]
    organisation_id: int | None
    new_admin_role: str | None


@router.get("/connections", response_model=list[ConnectionOut])
async def connections(engine: EngineDep, actor: ReadActor) -> list[dict[str, Any]]:
    """Every connection to an identity provider, without its secret."""
    return [c.public() for c in await transactions.read_only(engine, list_connections)]


@router.post("/connections", status_code=201, response_model=ConnectionOut)
async def create_connection(
    engine: EngineDep, clock: ClockDep, fernet: FernetDep, body: ConnectionSpec, actor: WriteActor
) -> dict[str, Any]:
    """Add a connection: ``admin`` (the admin UI) or ``portal`` (an organisation's people, by email domain)."""
    now = clock.now()

    def job(conn: Any) -> dict[str, Any]:
        made = add_connection(conn, spec=body, fernet=fernet, actor=actor.label, now=now)
        return get_connection(conn, connection_id=made).public()

    return await transactions.in_transaction(engine, job)


@router.delete("/connections/{connection_id}", status_code=204)
async def delete_connection(
    engine: EngineDep, clock: ClockDep, connection_id: Annotated[int, Path(ge=1, le=2**62)], actor: WriteActor
) -> Response:
    """Remove a connection; sign-ins already started through it fail, sessions already open stay."""
    await transactions.in_transaction(
        engine, remove_connection, connection_id=connection_id, actor=actor.label, now=clock.now()
    )
    return Response(status_code=204)
