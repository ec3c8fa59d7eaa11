"""The portal's organisation pages: its licenses and members, invitations and accepting them.

Thin over ``organisations`` (members, access) and ``customers.service``: every
read and change is scoped by the signed-in address's joined membership, so an
organisation of which it is no member answers "not found", the same as none.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

import sqlalchemy as sa
from fastapi import APIRouter, Path, Request
from fastapi.responses import RedirectResponse, Response

from licentia.server.customers import service as customer_service
from licentia.server.customers.accounts import current_customer
from licentia.server.errors import ApiError
from licentia.server.organisations import access, members, people
from licentia.server.organisations.members import Mailer
from licentia.server.organisations.roles import parse_role
from licentia.server.organisations.service import organisation_members
from licentia.server.portal.web import COOKIES, Flashes, Form, SignedIn, render
from licentia.server.state import ClockDep, EngineDep, StateDep
from licentia.server.store import transactions

router = APIRouter()
OrganisationId = Annotated[int, Path(ge=1, le=2**62)]
LicenseId = Annotated[int, Path(ge=1, le=2**62)]


@dataclass(frozen=True)
class OrganisationPage:
    membership: access.Membership
    licenses: list[customer_service.LicenseView]
    members: list[dict[str, Any]]
    # For owners and admins: the people named on each license of named users (by license id).
    people: dict[int, list[dict[str, Any]]] = field(default_factory=dict)


def _licenses(conn: sa.Connection, email: str, found: access.Membership, now: dt.datetime) -> list[Any]:
    return [
        customer_service.customer_license(conn, email=email, license_id=license_id, now=now)
        for license_id in access.assigned_licenses(conn, found, email)
    ]


def organisations_of(conn: sa.Connection, *, email: str, now: dt.datetime) -> list[OrganisationPage]:
    """The address's organisations with the licenses it sees there (the portal's home lists them)."""
    return [OrganisationPage(m, _licenses(conn, email, m, now), []) for m in access.memberships(conn, email)]


def _page(conn: sa.Connection, *, email: str, organisation_id: int, now: dt.datetime) -> OrganisationPage:
    found = access.membership(conn, organisation_id=organisation_id, email=email)
    shown = organisation_members(conn, organisation_id) if found.manages else []
    held = _licenses(conn, email, found, now)
    named = people.named_on(conn, organisation_id=organisation_id, license_ids=[lic.id for lic in held])
    return OrganisationPage(found, held, shown, named if found.manages else {})


@router.get("/organisations/{organisation_id}")
async def organisation_page(
    request: Request, customer: SignedIn, organisation_id: OrganisationId, engine: EngineDep, clock: ClockDep
) -> Response:
    page = await transactions.read_only(
        engine, _page, email=customer.email, organisation_id=organisation_id, now=clock.now()
    )
    return render(request, "portal_organisation.html", org=page)


async def _change(flash: Any, engine: Any, organisation_id: int, fn: Any, done: str, **kwargs: Any) -> Response:
    """Run a change of the organisation's members; back to its page saying how it went (404 stays a 404)."""
    target = f"/portal/organisations/{organisation_id}"
    try:
        await transactions.in_transaction(engine, fn, organisation_id=organisation_id, **kwargs)
    except ApiError as exc:
        if exc.status == 404 and exc.code == "unknown_organisation":
            raise
        return flash.back(target, error=exc.message)
    return flash.back(target, done=done)


def _as_manager(fn: Any) -> Any:
    """``fn`` done by the signed-in address, as the owner or admin it must be (a member gets a refusal)."""

    def run(conn: sa.Connection, *, organisation_id: int, customer: str, **kwargs: Any) -> Any:
        found = access.managing(conn, organisation_id=organisation_id, email=customer)
        return fn(conn, organisation_id=organisation_id, actor=f"customer:{customer}", by=found.role, **kwargs)

    return run


@router.post("/organisations/{organisation_id}/invite")
async def invite(
    customer: SignedIn, form: Form, flash: Flashes, organisation_id: OrganisationId, state: StateDep, clock: ClockDep
) -> Response:
    email, mailer = form.get("email", "").strip().lower(), Mailer.of(state.settings, state.fernet)
    try:
        role = parse_role(form.get("role", "member"))
    except ApiError as exc:
        return flash.back(f"/portal/organisations/{organisation_id}", error=exc.message)
    return await _change(
        flash, state.async_engine, organisation_id, _as_manager(members.invite), f"Invitation sent to {email}.",
        customer=customer.email, email=email, role=role, now=clock.now(), mailer=mailer,
    )  # fmt: skip


@router.post("/organisations/{organisation_id}/members/role")
async def change_role(
    customer: SignedIn, form: Form, flash: Flashes, organisation_id: OrganisationId, engine: EngineDep, clock: ClockDep
) -> Response:
    email = form.get("email", "").strip().lower()
    try:
        role = parse_role(form.get("role", ""))
    except ApiError as exc:
        return flash.back(f"/portal/organisations/{organisation_id}", error=exc.message)
    return await _change(
        flash, engine, organisation_id, _as_manager(members.change_role), f"{email} is now {role.value}.",
        customer=customer.email, email=email, role=role, now=clock.now(),
    )  # fmt: skip


@router.post("/organisations/{organisation_id}/members/remove")
async def remove(
    customer: SignedIn, form: Form, flash: Flashes, organisation_id: OrganisationId, engine: EngineDep, clock: ClockDep
) -> Response:
    email = form.get("email", "").strip().lower()
    return await _change(
        flash, engine, organisation_id, _as_manager(members.remove), f"{email} is no longer a member.",
        customer=customer.email, email=email, now=clock.now(),
    )  # fmt: skip


@router.post("/organisations/{organisation_id}/licenses/{license_id}/users/{change}")
async def change_seat(
    customer: SignedIn,
    form: Form,
    flash: Flashes,
    organisation_id: OrganisationId,
    license_id: LicenseId,
    change: Literal["assign", "free", "reassign"],
    engine: EngineDep,
    clock: ClockDep,
) -> Response:
    """An owner or admin gives, frees or moves a named user's seat of one of the organisation's licenses."""
    target = f"/portal/organisations/{organisation_id}#license-{license_id}"
    try:
        done = await transactions.in_transaction(
            engine, people.change_seat, organisation_id=organisation_id, license_id=license_id,
            customer=customer.email, change=change, email=form.get("email", "").strip().lower(),
            to=form.get("to", "").strip().lower(), now=clock.now(),
        )  # fmt: skip
    except ApiError as exc:
        if exc.status == 404 and exc.code == "unknown_organisation":
            raise
        return flash.back(target, error=exc.message)
    return flash.back(target, done=done)


@router.post("/organisations/{organisation_id}/leave")
async def leave(
    customer: SignedIn, form: Form, flash: Flashes, organisation_id: OrganisationId, engine: EngineDep, clock: ClockDep
) -> Response:
    try:
        await transactions.in_transaction(
            engine, members.leave, organisation_id=organisation_id, email=customer.email, now=clock.now()
        )
    except ApiError as exc:
        if exc.status == 404:
            raise
        return flash.back(f"/portal/organisations/{organisation_id}", error=exc.message)
    return flash.back("/portal", done="You left the organisation.")


@router.get("/invitation")
async def invitation_page(request: Request, engine: EngineDep, clock: ClockDep, token: str = "") -> Response:
    """The invitation, and a button to accept it (a GET spends nothing: mail scanners open links first)."""
    token = token[:200]
    signed_in = await transactions.read_only(
        engine, current_customer, session_id=COOKIES.session_id(request), now=clock.now()
    )
    try:
        found = await transactions.read_only(engine, members.invitation, token=token, now=clock.now())
    except ApiError as exc:
        return render(request, "portal_refused.html", exc.status, reason=exc.message, customer=signed_in)
    return render(request, "portal_invitation.html", invitation=found, token=token, customer=signed_in)


@router.post("/invitation")
async def accept(request: Request, customer: SignedIn, form: Form, engine: EngineDep, clock: ClockDep) -> Response:
    """Join, as the signed-in address: it must be the one invited."""
    try:
        joined = await transactions.in_transaction(
            engine, members.accept, token=form.get("token", "")[:200], email=customer.email, now=clock.now()
        )
    except ApiError as exc:
        return render(request, "portal_refused.html", exc.status, reason=exc.message)
    return RedirectResponse(f"/portal/organisations/{joined.organisation_id}", status_code=303)
