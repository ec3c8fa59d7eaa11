"""What every page of the admin UI and the customer portal shares: templates, headers, cookies, CSRF.

CSRF defence: every form carries the session's own token in a hidden field
(``csrf``), compared in constant time on every POST; a cross-site form cannot
read it. Session cookies are ``SameSite=Lax`` and ``HttpOnly`` (``Secure``
behind HTTPS), and a request whose ``Origin`` names another site is refused
outright. A form posted before any session exists (a sign-in form) carries a
token that is also set in a strict cookie (double submit, ``web.signin``).
"""

from __future__ import annotations

import hmac
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import Depends, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from jinja2 import ChoiceLoader, FileSystemLoader
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException

from licentia.server.errors import ApiError
from licentia.server.state import SettingsDep
from licentia.server.web.flash import FLASHED

HERE = Path(__file__).parent
SECURITY_HEADERS = {
    # Pages hold session-bound forms: no framing (clickjacking), no foreign scripts.
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'",
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}


class CsrfRefused(Exception):
    """A form without this session's token (forged, or a stale tab): no action ran."""


def page_templates(directory: Path) -> Jinja2Templates:
    """A UI's templates: its own folder first, then the shared ones (``frame.html``, the page each UI's base
    builds on; the macros: dates, state pills, the CSRF field)."""
    templates = Jinja2Templates(directory=str(directory))
    templates.env.loader = ChoiceLoader([FileSystemLoader(str(directory)), FileSystemLoader(str(HERE / "templates"))])
    return templates


def _cookie_secure(request: Request, settings: SettingsDep) -> bool:
    setting = settings.cookie_secure
    return bool(setting) if setting is not None else request.url.scheme == "https"


# Whether the session cookies carry ``Secure``: the ``cookie_secure`` setting, else whether this request came by HTTPS.
CookieSecure = Annotated[bool, Depends(_cookie_secure)]


def same_origin(request: Request) -> bool:
    origin = request.headers.get("origin")
    if not origin or origin == "null":
        return origin is None
    return urlsplit(origin).netloc == request.headers.get("host", request.url.netloc)


def same_token(unverified: str, expected: str) -> bool:
    """Constant-time comparison of a posted token, as bytes (``compare_digest`` raises on non-ASCII text)."""
    return hmac.compare_digest(unverified.encode("utf-8", "replace"), expected.encode())


def form_token_ok(request: Request, form: Any, expected: str | None) -> bool:
    """The posted ``form`` comes from this site and carries the ``expected`` token in its ``csrf`` field."""
    sent = form.get("csrf")
    return same_origin(request) and isinstance(sent, str) and bool(expected) and same_token(sent, expected or "")


async def session_form(request: Request, csrf_token: str) -> dict[str, str]:
    """The posted form's fields, once its token matched the session's ``csrf_token``; else :class:`CsrfRefused`."""
    form = await request.form()
    if not form_token_ok(request, form, csrf_token):
        raise CsrfRefused()
    return {k: v for k, v in form.items() if isinstance(v, str)}


def page(
    templates: Jinja2Templates, request: Request, template: str, http_status: int, context: dict[str, Any]
) -> HTMLResponse:
    """``template`` answered as a page, with the security headers; ``message`` and ``error``, unless given, are the
    flash the redirect here carried (``web.flash``), shown by ``frame.html`` once: the page drops its cookie. Never
    anything of the URL: a link cannot write the system's messages."""
    flashed = FLASHED.of(request)
    if flashed is not None:
        context.setdefault("message", flashed.message)
        context.setdefault("error", flashed.error)
    context.setdefault("message", None)
    context.setdefault("error", None)
    response = templates.TemplateResponse(request, template, context, status_code=http_status)
    response.headers.update(SECURITY_HEADERS)
    if flashed is not None:
        response.delete_cookie(flashed.cookie, path=flashed.path)
    return response


# Errors: a browser gets a page in the UI's frame, an API client the JSON error body.


def wants_page(scope: Any) -> bool:
    """Whether the request asks for a page: its ``Accept`` names HTML, as a browser's does, or htmx made it. API
    clients (``application/json``, ``*/*`` or no ``Accept``) keep the JSON error bodies."""
    headers = Headers(scope=scope)
    if headers.get("hx-request"):
        return True
    for media_range in headers.get("accept", "").lower().split(","):
        kind, *params = (part.strip() for part in media_range.split(";"))
        if kind in ("text/html", "application/xhtml+xml") and "q=0" not in params:
            return True
    return False


def refusal_of(exc: Exception) -> tuple[int, str]:
    """The status an error answers (the JSON body's, kept) and the sentence its page says."""
    if isinstance(exc, ApiError):
        return exc.status, exc.message
    if isinstance(exc, HTTPException):
        return exc.status_code, str(exc.detail)
    if isinstance(exc, RequestValidationError):
        return 422, _invalid_address(exc)
    return 400, str(exc)


def _invalid_address(exc: RequestValidationError) -> str:
    first: dict[str, Any] = next(iter(exc.errors()), {})
    loc = [str(part) for part in first.get("loc", ())]
    name = loc[-1].replace("_", " ") if loc else "value"
    value = str(first.get("input", ""))
    shown = value if len(value) <= 80 else value[:79] + "…"
    if loc[:1] == ["path"]:
        return f"Nothing is found at this address: {shown!r} is not a valid {name}."
    return f"The {name} given is not valid: {first.get('msg', 'invalid')}."
