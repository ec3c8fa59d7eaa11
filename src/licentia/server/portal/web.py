"""Plumbing of the portal pages: templates, the signed-in customer, CSRF.

The admin UI's defences are reused as they are (``admin.web``): the same
security headers, the same cookie rules (``HttpOnly``, ``SameSite``, ``Secure``
behind HTTPS), the same Origin check, and the same per-session CSRF token
posted back by every form and compared in constant time. Only the session
table differs: a customer session names an email address, not an admin.
"""

from __future__ import annotations

import hmac
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.templating import Jinja2Templates
from jinja2 import ChoiceLoader, FileSystemLoader

from licentia.server.admin.web import HERE as ADMIN_HERE
from licentia.server.admin.web import (
    SECURITY_HEADERS,
    CsrfRefused,
    cookie_secure,
    new_signin_token,
    same_origin,
)
from licentia.server.network import client_ip
from licentia.server.portal.accounts import SignedInCustomer, current_customer
from licentia.server.state import read_only, state_of

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=str(HERE / "templates"))
# Portal templates first; the admin's macros (dates, state pills) are shared.
templates.env.loader = ChoiceLoader(
    [FileSystemLoader(str(HERE / "templates")), FileSystemLoader(str(ADMIN_HERE / "templates"))]
)
SESSION_COOKIE = "licentia_portal"
SIGNIN_COOKIE = "licentia_portal_signin"
COOKIE_PATH = "/portal"


class CustomerSignInRequired(Exception):
    pass


def now(request: Request) -> Any:
    return state_of(request.app).clock.now()


def network(request: Request) -> str:
    return client_ip(request, state_of(request.app).trusted_proxies)


async def signed_in_customer(request: Request) -> SignedInCustomer:
    session_id = request.cookies.get(SESSION_COOKIE)
    if not session_id:
        raise CustomerSignInRequired()
    customer = await read_only(request, current_customer, session_id=session_id, now=now(request))
    if customer is None:
        raise CustomerSignInRequired()
    request.state.customer = customer
    return customer


SignedIn = Annotated[SignedInCustomer, Depends(signed_in_customer)]


async def checked_form(request: Request, customer: SignedIn) -> dict[str, str]:
    """The posted form, once its CSRF token matched the session's (else 403)."""
    form = await request.form()
    sent = form.get("csrf")
    if not same_origin(request) or not isinstance(sent, str) or not _same_token(sent, customer.csrf_token):
        raise CsrfRefused()
    return {k: v for k, v in form.items() if isinstance(v, str)}


Form = Annotated[dict[str, str], Depends(checked_form)]


def render(request: Request, template: str, http_status: int = 200, **context: Any) -> HTMLResponse:
    context.setdefault("customer", getattr(request.state, "customer", None))
    context.setdefault("message", request.query_params.get("done"))
    context.setdefault("error", request.query_params.get("error"))
    response = templates.TemplateResponse(request, template, context, status_code=http_status)
    response.headers.update(SECURITY_HEADERS)
    return response


def double_submit_page(request: Request, template: str, http_status: int = 200, **context: Any) -> Response:
    """A form posted before any session exists: its token is also set in a strict cookie (double submit)."""
    token = new_signin_token()
    response = render(request, template, http_status, csrf=token, **context)
    response.set_cookie(
        SIGNIN_COOKIE, token, httponly=True, samesite="strict", secure=cookie_secure(request), path=COOKIE_PATH
    )
    return response


def double_submit_ok(request: Request, form: Any) -> bool:
    sent, cookie = form.get("csrf"), request.cookies.get(SIGNIN_COOKIE)
    return same_origin(request) and isinstance(sent, str) and bool(cookie) and _same_token(sent, cookie or "")


def _same_token(unverified: str, expected: str) -> bool:
    # As bytes: compare_digest raises on non-ASCII text, and a posted field may hold any.
    return hmac.compare_digest(unverified.encode("utf-8", "replace"), expected.encode())
