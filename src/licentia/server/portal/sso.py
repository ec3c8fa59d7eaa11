"""Signing in to the portal through one's organisation's identity provider (OpenID Connect; docs/sso.md).

The customer types their email; the portal connection whose email domains hold its domain sends them to their
organisation's provider; the address the provider vouches for must be in that connection's domains too (an
organisation's provider speaks for its own people only). Success opens the session a spent sign-in link opens.
"""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Request
from fastapi.responses import Response

from licentia.server.customers import accounts
from licentia.server.network import client_ip
from licentia.server.portal.web import COOKIES, double_submit_page
from licentia.server.settings import Settings
from licentia.server.sso import flow
from licentia.server.sso.connections import Purpose, portal_connection_for
from licentia.server.state import EngineDep, StateDep
from licentia.server.store import transactions
from licentia.server.web.frame import CookieSecure
from licentia.server.web.sso import back_from_provider, to_provider

router = APIRouter(prefix="/sso")
COOKIE_PATH = "/portal/sso"


def _callback(settings: Settings) -> str:
    return settings.base_url.rstrip("/") + COOKIE_PATH + "/callback"


def _refused(request: Request, secure: bool, message: str, status: int = 401) -> Response:
    return double_submit_page(request, "portal_signin.html", status, secure=secure, error=message, sso=True)


@router.post("")
async def start(request: Request, state: StateDep, engine: EngineDep, secure: CookieSecure) -> Response:
    form = await request.form()
    if not COOKIES.signin_form_ok(request, form):
        return _refused(request, secure, "Your form expired; please try again.", 403)
    email = accounts.normalize_email(str(form.get("email", "")))
    if email is None:
        return _refused(request, secure, "Please enter your email address.", 422)
    connection = await transactions.read_only(engine, portal_connection_for, email=email)
    if connection is None:
        message = "Your organisation has no single sign-on here; ask for a sign-in link instead."
        return _refused(request, secure, message, 404)
    try:
        out = await flow.begin(
            engine=engine,
            issuers=state.sso_issuers,
            connection=connection,
            redirect_uri=_callback(state.settings),
            next_page="/portal",
            browser=request.cookies.get(flow.BROWSER_COOKIE),
            network=client_ip(request, state.trusted_proxies),
            fernet=state.fernet,
            now=state.clock.now(),
            login_hint=email,
        )
    except flow.SignInRefused as exc:
        return _refused(request, secure, str(exc), exc.status)
    return to_provider(out, secure=secure, path=COOKIE_PATH)


@router.get("/callback")
async def callback(request: Request, state: StateDep, engine: EngineDep, secure: CookieSecure) -> Response:
    try:
        verified = await back_from_provider(request, state, _callback(state.settings))
    except flow.SignInRefused as exc:
        return _refused(request, secure, str(exc), exc.status)
    connection, email = verified.connection, verified.identity.email
    if connection.purpose is not Purpose.PORTAL or not connection.answers_for(email):
        flow.log.warning("sso: connection %s vouched for %s, outside its domains", connection.id, email)
        return _refused(request, secure, f"Your organisation's sign-in does not cover {email}.", 403)
    lifetime = dt.timedelta(hours=state.settings.portal_session_hours)
    done = await transactions.in_transaction(
        engine,
        accounts.open_sso_session,
        email=email,
        connection_id=connection.id,
        now=state.clock.now(),
        lifetime=lifetime,
    )
    response = COOKIES.start(to="/portal", session_id=done.session_id, lifetime=lifetime, secure=secure)
    response.delete_cookie(flow.BROWSER_COOKIE, path=COOKIE_PATH)
    return response
