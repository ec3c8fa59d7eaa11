"""Organisations in the admin UI: the list (with a form to create one), and one organisation's page with its
members (invite, change role, remove: confirmed) and licenses (attach by id, detach: confirmed).

Thin over ``organisations``: the same services as the developer API and the CLI, audited with the admin.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from licentia.server.admin.forms import NOT_CONFIRMED, confirmed
from licentia.server.admin.web import Admin, Form, Posted, render
from licentia.server.errors import ApiError
from licentia.server.fields import RowId
from licentia.server.organisations import members, service
from licentia.server.organisations.members import Mailer
from licentia.server.organisations.roles import OrgRole, parse_role
from licentia.server.state import EngineDep, StateDep
from licentia.server.store import transactions

router = APIRouter(prefix="/organisations")
HERE = "/admin/organisations"


@router.get("")
async def organisations_page(request: Request, engine: EngineDep, admin: Admin, q: str = "") -> Response:
    found = await transactions.read_only(engine, service.list_organisations, search=q[:200])
    return render(request, "organisations.html", organisations=found, q=q[:200])


@router.post("")
async def organisation_create(form: Form, posted: Posted, state: StateDep) -> Response:
    owner = form.get("owner", "").strip() or None
    return await posted.run(
        service.create_organisation,
        success=lambda made: posted.back(f"{HERE}/{made}", done="Organisation created."),
        back_to=HERE,
        name=form.get("name", ""),
        owner=owner,
        mailer=Mailer.of(state.settings, state.fernet),
    )


@router.get("/{organisation_id}")
async def organisation_page(request: Request, organisation_id: RowId, engine: EngineDep, admin: Admin) -> Response:
    org = await transactions.read_only(engine, service.organisation_view, organisation_id=organisation_id)
    return render(request, "organisation.html", org=org, roles=[r.value for r in OrgRole])


def _role(form: dict[str, str]) -> OrgRole | None:
    try:
        return parse_role(form.get("role", ""))
    except ApiError:
        return None


@router.post("/{organisation_id}/{change}")
async def organisation_change(
    request: Request, organisation_id: RowId, change: str, form: Form, posted: Posted, state: StateDep
) -> Response:
    here = f"{HERE}/{organisation_id}"
    # A confirmation's form names its member or license in its address (``confirmed_tick``), the others in fields.
    form = {**request.query_params, **form}
    email = form.get("email", "").strip().lower()
    common: dict[str, Any] = {"back_to": here, "organisation_id": organisation_id}
    if change == "rename":
        return await posted.run(service.rename_organisation, success="Renamed.", name=form.get("name", ""), **common)
    if change in ("invite", "role"):
        role = _role(form)
        if role is None:
            return posted.back(here, error="A member's role is owner, admin or member.")
        if change == "invite":
            mailer = Mailer.of(state.settings, state.fernet)
            return await posted.run(
                members.invite, success=f"Invitation sent to {email}.", email=email, role=role, by=None,
                mailer=mailer, **common,
            )  # fmt: skip
        said = f"{email} is now {role.value}."
        return await posted.run(members.change_role, success=said, email=email, role=role, by=None, **common)
    if not confirmed(form):
        return posted.back(here, error=NOT_CONFIRMED)
    if change == "remove":
        return await posted.run(members.remove, success=f"{email} removed.", email=email, by=None, **common)
    if change in ("attach", "detach"):
        try:
            license_id = int(form.get("license_id", ""))
        except ValueError:
            return posted.back(here, error="A license is named by its number.")
        fn = service.attach_license if change == "attach" else service.detach_license
        return await posted.run(fn, success=f"License {license_id} {change}ed.", license_id=license_id, **common)
    return posted.back(here, error=f"There is no organisation action “{change}”.")
