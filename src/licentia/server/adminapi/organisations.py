"""Developer API: ``/v1/admin/organisations`` (read token to read, write token to change).

The vendor's side of organisations: create and rename them, invite members,
change roles, remove members, attach licenses. The same services as the CLI,
the admin UI and the portal (``organisations``); every change audited.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict

from licentia.server.adminapi.bearer import ReadActor, WriteActor
from licentia.server.fields import Email, RowId
from licentia.server.organisations import members, service
from licentia.server.organisations.members import Mailer
from licentia.server.organisations.roles import OrgRole
from licentia.server.state import ClockDep, EngineDep, StateDep
from licentia.server.store import transactions

router = APIRouter(prefix="/v1/admin/organisations", tags=["developer API"])
OrganisationId = Annotated[int, Path(ge=1, le=2**62)]
MemberEmail = Annotated[str, Path(min_length=3, max_length=320)]
RoleName = Literal["owner", "admin", "member"]


class OrganisationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: service.OrganisationName
    owner_email: Email | None = None


class OrganisationRename(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: service.OrganisationName


class MemberInvite(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: Email
    role: RoleName = "member"


class MemberRole(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: RoleName


class MemberOut(BaseModel):
    email: str
    role: str
    invited_at: dt.datetime
    invited_by: str
    joined_at: dt.datetime | None
    pending: bool


class OrganisationLicenseOut(BaseModel):
    id: int
    key_prefix: str
    product: str
    state: str
    expires_at: dt.datetime | None
    customer_email: str | None


class OrganisationSummary(BaseModel):
    id: int
    name: str
    created_at: dt.datetime
    members: int
    licenses: int


class OrganisationOut(BaseModel):
    id: int
    name: str
    created_at: dt.datetime
    created_by: str
    members: list[MemberOut]
    licenses: list[OrganisationLicenseOut]


@router.get("", response_model=list[OrganisationSummary])
async def organisations(engine: EngineDep, actor: ReadActor, search: str = "") -> list[dict[str, Any]]:
    """Every organisation with its counts of members and licenses; ``search``: in names and members' addresses."""
    return await transactions.read_only(engine, service.list_organisations, search=search[:200])


@router.post("", status_code=201, response_model=OrganisationOut)
async def create(
    state: StateDep, engine: EngineDep, clock: ClockDep, body: OrganisationCreate, actor: WriteActor
) -> Any:
    """Create an organisation; ``owner_email`` is invited as its owner (an email with a link to accept)."""
    mailer = Mailer.of(state.settings, state.fernet)

    def job(conn: Any) -> dict[str, Any]:
        made = service.create_organisation(
            conn, name=body.name, owner=body.owner_email, actor=actor.label, now=clock.now(), mailer=mailer
        )
        return service.organisation_view(conn, organisation_id=made)

    return await transactions.in_transaction(engine, job)


@router.get("/{organisation_id}", response_model=OrganisationOut)
async def show(engine: EngineDep, organisation_id: OrganisationId, actor: ReadActor) -> Any:
    """The organisation with its members (and pending invitations) and licenses."""
    return await transactions.read_only(engine, service.organisation_view, organisation_id=organisation_id)


@router.patch("/{organisation_id}", response_model=OrganisationOut)
async def rename(
    engine: EngineDep, clock: ClockDep, organisation_id: OrganisationId, body: OrganisationRename, actor: WriteActor
) -> Any:
    def job(conn: Any) -> dict[str, Any]:
        service.rename_organisation(
            conn, organisation_id=organisation_id, name=body.name, actor=actor.label, now=clock.now()
        )
        return service.organisation_view(conn, organisation_id=organisation_id)

    return await transactions.in_transaction(engine, job)


@router.get("/{organisation_id}/members", response_model=list[MemberOut])
async def member_list(engine: EngineDep, organisation_id: OrganisationId, actor: ReadActor) -> Any:
    def job(conn: Any) -> list[dict[str, Any]]:
        members.organisation_row(conn, organisation_id)
        return service.organisation_members(conn, organisation_id)

    return await transactions.read_only(engine, job)


def _member(conn: Any, organisation_id: int, email: str) -> dict[str, Any]:
    return next(m for m in service.organisation_members(conn, organisation_id) if m["email"] == email.lower())


@router.post("/{organisation_id}/members", status_code=201, response_model=MemberOut)
async def invite(
    state: StateDep,
    engine: EngineDep,
    clock: ClockDep,
    organisation_id: OrganisationId,
    body: MemberInvite,
    actor: WriteActor,
) -> Any:
    """Invite an address (again, for a pending one: a new link, the old one stops working)."""
    mailer = Mailer.of(state.settings, state.fernet)

    def job(conn: Any) -> dict[str, Any]:
        members.invite(
            conn, organisation_id=organisation_id, email=body.email, role=OrgRole(body.role), actor=actor.label,
            by=None, now=clock.now(), mailer=mailer,
        )  # fmt: skip
        return _member(conn, organisation_id, body.email.strip())

    return await transactions.in_transaction(engine, job)


@router.patch("/{organisation_id}/members/{email}", response_model=MemberOut)
async def change_role(
    engine: EngineDep,
    clock: ClockDep,
    organisation_id: OrganisationId,
    email: MemberEmail,
    body: MemberRole,
    actor: WriteActor,
) -> Any:
    """Make a member owner, admin or member (the organisation keeps an owner who joined)."""

    def job(conn: Any) -> dict[str, Any]:
        members.change_role(
            conn, organisation_id=organisation_id, email=email, role=OrgRole(body.role), actor=actor.label,
            by=None, now=clock.now(),
        )  # fmt: skip
        return _member(conn, organisation_id, email)

    return await transactions.in_transaction(engine, job)


@router.delete("/{organisation_id}/members/{email}", status_code=204)
async def remove(
    engine: EngineDep, clock: ClockDep, organisation_id: OrganisationId, email: MemberEmail, actor: WriteActor
) -> Response:
    """Remove a member, or withdraw an invitation."""
    await transactions.in_transaction(
        engine,
        members.remove,
        organisation_id=organisation_id,
        email=email,
        actor=actor.label,
        by=None,
        now=clock.now(),
    )
    return Response(status_code=204)


@router.put("/{organisation_id}/licenses/{license_id}", response_model=OrganisationOut)
async def attach(
    engine: EngineDep, clock: ClockDep, organisation_id: OrganisationId, license_id: RowId, actor: WriteActor
) -> Any:
    """Make the license the organisation's (from another organisation's, if it was)."""

    def job(conn: Any) -> dict[str, Any]:
        service.attach_license(
            conn, organisation_id=organisation_id, license_id=license_id, actor=actor.label, now=clock.now()
        )
        return service.organisation_view(conn, organisation_id=organisation_id)

    return await transactions.in_transaction(engine, job)


@router.delete("/{organisation_id}/licenses/{license_id}", status_code=204)
async def detach(
    engine: EngineDep, clock: ClockDep, organisation_id: OrganisationId, license_id: RowId, actor: WriteActor
) -> Response:
    """The license is no organisation's any more (its customer keeps it)."""

    def job(conn: Any) -> None:
        members.organisation_row(conn, organisation_id)
        service.detach_license(
            conn, organisation_id=organisation_id, license_id=license_id, actor=actor.label, now=clock.now()
        )

    await transactions.in_transaction(engine, job)
    return Response(status_code=204)
