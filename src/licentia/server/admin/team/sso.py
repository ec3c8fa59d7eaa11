"""Single sign-on's connections (owners only, as the admins are: they decide who signs in): add, list, remove."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncEngine

from licentia.server.admin.forms import NOT_CONFIRMED, Refused, confirmed, refused, render_form
from licentia.server.admin.web import Admin, Form, Posted
from licentia.server.auth.accounts import CurrentAdmin
from licentia.server.auth.roles import Role
from licentia.server.errors import ApiError, ErrorCode
from licentia.server.fields import RowId
from licentia.server.organisations.service import list_organisations
from licentia.server.sso.connections import ConnectionSpec, add_connection, list_connections, remove_connection
from licentia.server.state import EngineDep, FernetDep, SettingsDep
from licentia.server.store import transactions

router = APIRouter(prefix="/admins/sso")
HERE = "/admin/admins/sso"
FIELD_OF = {ErrorCode.INVALID_SSO_CONNECTION: "issuer", ErrorCode.INVALID_ROLE: "new_admin_role"}
SECRET = "client_secret"  # noqa: S105 (the form field's name)


def _owner(admin: CurrentAdmin) -> None:
    if not admin.may(Role.OWNER):
        raise HTTPException(403, "Only an owner manages single sign-on.")


async def _page(request: Request, engine: AsyncEngine, base_url: str, refusal: Refused | None = None) -> Response:
    found = await transactions.read_only(engine, list_connections)
    teams = await transactions.read_only(engine, list_organisations)
    names = {team["id"]: team["name"] for team in teams}
    return render_form(
        request, "sso.html", refusal, connections=found, organisations=teams, names=names, base_url=base_url.rstrip("/")
    )


@router.get("")
async def sso_page(request: Request, engine: EngineDep, settings: SettingsDep, admin: Admin) -> Response:
    _owner(admin)
    return await _page(request, engine, settings.base_url)


def _spec(form: dict[str, str]) -> ConnectionSpec:
    try:
        return ConnectionSpec(
            purpose=form.get("purpose", ""),
            name=form.get("name", ""),
            issuer=form.get("issuer", ""),
            client_id=form.get("client_id", ""),
            client_secret=form.get(SECRET, ""),
            email_domains=form.get("email_domains", "").replace(",", " ").split(),
            organisation_id=int(form["organisation_id"]) if form.get("organisation_id", "").strip() else None,
            new_admin_role=form.get("new_admin_role") or None,
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        field = str(first["loc"][0]) if first["loc"] else ""
        raise ApiError(ErrorCode.INVALID_SSO_CONNECTION, first["msg"], details={"field": field}) from exc
    except ValueError as exc:  # the organisation's id is not a number
        message = "an organisation is named by its number"
        raise ApiError(ErrorCode.INVALID_SSO_CONNECTION, message, details={"field": "organisation_id"}) from exc


@router.post("")
async def sso_add(request: Request, form: Form, posted: Posted, fernet: FernetDep, settings: SettingsDep) -> Response:
    async def again(exc: ApiError) -> Response:  # the form as it was typed (never the secret), the error beside
        typed = {name: value for name, value in form.items() if name != SECRET}
        return await _page(request, posted.engine, settings.base_url, refused(request, exc, typed, FIELD_OF))

    def job(conn: sa.Connection, *, actor: str, now: dt.datetime) -> int:
        return add_connection(conn, spec=_spec(form), fernet=fernet, actor=actor, now=now)

    return await posted.run(job, success="Connection added.", back_to=HERE, refused=again)


@router.post("/{connection_id}/remove")
async def sso_remove(form: Form, connection_id: RowId, posted: Posted) -> Response:
    if not confirmed(form):
        return posted.back(HERE, error=NOT_CONFIRMED)
    return await posted.run(remove_connection, success="Connection removed.", back_to=HERE, connection_id=connection_id)
