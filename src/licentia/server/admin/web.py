"""Plumbing shared by the admin pages: templates, the signed-in admin, CSRF, redirects with a message.

CSRF defence: every form carries the session's own token in a hidden field
(``csrf``), compared in constant time on every POST; a cross-site form cannot
read it. The session cookie is also ``SameSite=Lax`` and ``HttpOnly``, and a
request whose ``Origin`` names another site is refused outright.
"""

from __future__ import annotations

import datetime as dt
import hmac
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode, urlsplit

from fastapi import Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from licentia.server.admin.accounts import CurrentAdmin, current_admin
from licentia.server.admin.roles import needed_for
from licentia.server.errors import ApiError, ErrorCode
from licentia.server.state import in_transaction, read_only, state_of

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=str(HERE / "templates"))
SESSION_COOKIE = "licentia_session"
SIGNIN_COOKIE = "licentia_signin"
COOKIE_PATH = "/admin"
SECURITY_HEADERS = {
    # Pages hold session-bound forms: no framing (clickjacking), no foreign scripts.
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'",
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}


class SignInRequired(Exception):
    pass


class CsrfRefused(Exception):
    pass


def cookie_secure(request: Request) -> bool:
    setting = state_of(request.app).settings.cookie_secure
    return bool(setting) if setting is not None else request.url.scheme == "https"


def start_session(
    request: Request, *, to: str, cookie: str, session_id: str, lifetime: dt.timedelta, path: str, signin_cookie: str
) -> RedirectResponse:
    """Redirect to ``to`` with a fresh session cookie (HttpOnly, SameSite=Lax, Secure on https) and the
    sign-in form's cookie dropped: the admin UI and the customer portal start sessions the same way."""
    response = RedirectResponse(to, status_code=303)
    response.set_cookie(
        cookie,
        session_id,
        max_age=int(lifetime.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=cookie_secure(request),
        path=path,
    )
    response.delete_cookie(signin_cookie, path=path)
    return response


def now(request: Request) -> dt.datetime:
    return state_of(request.app).clock.now()


async def signed_in_admin(request: Request) -> CurrentAdmin:
    session_id = request.cookies.get(SESSION_COOKIE)
    if not session_id:
        raise SignInRequired()
    admin = await read_only(request, current_admin, session_id=session_id, now=now(request))
    if admin is None:
        raise SignInRequired()
    request.state.admin = admin
    return admin


Admin = Annotated[CurrentAdmin, Depends(signed_in_admin)]


def same_origin(request: Request) -> bool:
    origin = request.headers.get("origin")
    if not origin or origin == "null":
        return origin is None
    return urlsplit(origin).netloc == request.headers.get("host", request.url.netloc)


async def checked_form(request: Request, admin: Admin) -> dict[str, str]:
    """The posted form, once its CSRF token matched the session's and the admin's role allows the change.

    Every change in the admin UI posts a form through here, so this is the one
    place roles are enforced for the pages (``admin.roles.needed_for``).
    """
    form = await request.form()
    sent = form.get("csrf")
    if (
        not same_origin(request)
        or not isinstance(sent, str)
        or not hmac.compare_digest(sent.encode(), admin.csrf_token.encode())
    ):
        raise CsrfRefused()
    needed = needed_for(request.url.path)
    if not admin.may(needed):
        raise HTTPException(
            403, f"Your role ({admin.role}) cannot make this change: it needs the {needed.value} role. Ask an owner."
        )
    return {k: v for k, v in form.items() if isinstance(v, str)}


Form = Annotated[dict[str, str], Depends(checked_form)]


def render(request: Request, template: str, http_status: int = 200, **context: Any) -> HTMLResponse:
    context.setdefault("admin", getattr(request.state, "admin", None))
    context.setdefault("status_code", http_status)
    context.setdefault("message", request.query_params.get("done"))
    context.setdefault("error", request.query_params.get("error"))
    context.setdefault("section", template.split(".")[0].split("_")[0])
    response = templates.TemplateResponse(request, template, context, status_code=http_status)
    response.headers.update(SECURITY_HEADERS)
    return response


def back(url: str, *, done: str | None = None, error: str | None = None) -> RedirectResponse:
    """Post/redirect/get: a reload never repeats the action."""
    query = urlencode({k: v for k, v in (("done", done), ("error", error)) if v})
    return RedirectResponse(f"{url}{'&' if '?' in url else '?'}{query}" if query else url, status_code=303)


async def act(request: Request, fn: Callable[..., Any], *, success: str, back_to: str, **kwargs: Any) -> Response:
    """Run an audited service change; show its error on the same page instead of a JSON body."""
    try:
        await in_transaction(request, fn, now=now(request), **kwargs)
    except ApiError as exc:
        return back(back_to, error=exc.message)
    return back(back_to, done=success)


def new_signin_token() -> str:
    return secrets.token_urlsafe(24)


def signin_page(request: Request, *, error: str | None = None, status: int = 200, email: str = "") -> Response:
    """The sign-in form with a fresh double-submit token (no session exists yet to hold one)."""
    token = new_signin_token()
    response = render(
        request, "signin.html", status, csrf=token, error=error, next=request.query_params.get("next", ""), email=email
    )
    response.set_cookie(
        SIGNIN_COOKIE, token, httponly=True, samesite="strict", secure=cookie_secure(request), path=COOKIE_PATH
    )
    return response


def int_field(form: dict[str, str], name: str) -> int:
    try:
        return int(form.get(name, "").strip())
    except ValueError as exc:
        raise ApiError(ErrorCode.INVALID_NUMBER, f"{name.replace('_', ' ')} must be a whole number") from exc
