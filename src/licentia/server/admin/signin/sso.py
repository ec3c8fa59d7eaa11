"""Signing in to the admin UI through the installation's identity provider (OpenID Connect; docs/sso.md)."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response

from licentia.server.admin.signin.pages import safe_next, signin_page_with_sso
from licentia.server.admin.web import COOKIES
from licentia.server.auth.accounts import SignInRefused
from licentia.server.auth.single_sign_on import conclude_sso_sign_in
from licentia.server.errors import ApiError
from licentia.server.fields import RowId
from licentia.server.network import client_ip
from licentia.server.settings import Settings
from licentia.server.sso import flow
from licentia.server.sso.connections import Purpose, get_connection
from licentia.server.state import EngineDep, StateDep
from licentia.server.store import transactions
from licentia.server.web.frame import CookieSecure
from licentia.server.web.sso import back_from_provider, to_provider

router = APIRouter(prefix="/sso")
COOKIE_PATH = "/admin/sso"


def _callback(settings: Settings) -> str:
    return settings.base_url.rstrip("/") + COOKIE_PATH + "/callback"


async def _refused(request: Request, engine: EngineDep, secure: bool, message: str, status: int = 401) -> Response:
    return await signin_page_with_sso(request, engine, secure=secure, error=message, status=status)


@router.get("/start/{connection_id}")
async def start(
    request: Request, connection_id: RowId, state: StateDep, engine: EngineDep, secure: CookieSecure
) -> Response:
    try:
        connection = await transactions.read_only(engine, get_connection, connection_id=connection_id)
    except ApiError:
        connection = None
    if connection is None or connection.purpose is not Purpose.ADMIN:
        return await _refused(request, engine, secure, "That single sign-on connection does not exist.")
    try:
        out = await flow.begin(
            engine=engine,
            issuers=state.sso_issuers,
            connection=connection,
            redirect_uri=_callback(state.settings),
            next_page=safe_next(request.query_params.get("next", "")),
            browser=request.cookies.get(flow.BROWSER_COOKIE),
            network=client_ip(request, state.trusted_proxies),
            fernet=state.fernet,
            now=state.clock.now(),
        )
    except flow.SignInRefused as exc:
        return await _refused(request, engine, secure, str(exc), exc.status)
    return to_provider(out, secure=secure, path=COOKIE_PATH)


@router.get("/callback")
async def callback(request: Request, state: StateDep, engine: EngineDep, secure: CookieSecure) -> Response:
    try:
        verified = await back_from_provider(request, state, _callback(state.settings))
    except flow.SignInRefused as exc:
        return await _refused(request, engine, secure, str(exc), exc.status)
    if verified.connection.purpose is not Purpose.ADMIN or not verified.connection.answers_for(verified.identity.email):
        return await _refused(request, engine, secure, "This account may not sign in here.")
    lifetime = dt.timedelta(hours=state.settings.admin_session_hours)
    done = await transactions.in_transaction(
        engine,
        conclude_sso_sign_in,
        email=verified.identity.email,
        connection_id=verified.connection.id,
        new_admin_role=verified.connection.new_admin_role,
        now=state.clock.now(),
        lifetime=lifetime,
    )
    if isinstance(done, SignInRefused):
        # The provider vouched for the address, but no enabled admin has it (and none is to be made).
        return await _refused(request, engine, secure, f"No admin account for {verified.identity.email}.")
    next_page = safe_next(verified.next_page)
    response = COOKIES.start(
        to=f"/admin/signin/code?{urlencode({'next': next_page})}" if done.needs_code else next_page,
        session_id=done.session_id,
        lifetime=lifetime,
        secure=secure,
    )
    response.delete_cookie(flow.BROWSER_COOKIE, path=COOKIE_PATH)
    return response
