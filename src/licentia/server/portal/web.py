"""The portal pages' own layer over the shared frame (``web.frame``): the signed-in customer, CSRF, error pages.

The admin UI's defences, shared in ``web.frame``: the same security headers,
the same cookie rules (``HttpOnly``, ``SameSite``, ``Secure`` behind HTTPS),
the same Origin check, and the same per-session CSRF token posted back by
every form and compared in constant time. Only the session table differs: a
customer session names an email address, not an admin.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException

from licentia.core.usercodes import UserCodeFormatError, normalize_user_code
from licentia.server.customers.accounts import SignedInCustomer, current_customer
from licentia.server.state import RequestSlot
from licentia.server.web.flash import Flash
from licentia.server.web.frame import page, page_templates, refusal_of, session_form, wants_page
from licentia.server.web.signin import SessionCookies

HERE = Path(__file__).parent
templates = page_templates(HERE / "templates")
COOKIES = SessionCookies(
    session="licentia_portal", signin="licentia_portal_signin", flash="licentia_portal_flash", path="/portal"
)


# The customer a request signed in as (set by ``SignedIn``, read by ``render``).
SIGNED_IN_CUSTOMER = RequestSlot("customer", SignedInCustomer)
SignedIn = Annotated[SignedInCustomer, Depends(COOKIES.signed_in(current_customer, slot=SIGNED_IN_CUSTOMER))]


async def checked_form(request: Request, customer: SignedIn) -> dict[str, str]:
    """The posted form, once its CSRF token matched the session's (else 403)."""
    return await session_form(request, customer.csrf_token)


Form = Annotated[dict[str, str], Depends(checked_form)]
# Redirects with a message for the next page: ``flash.back(url, done=...)`` (``web.flash``).
Flashes = Annotated[Flash, Depends(COOKIES.flash_of)]


def render(request: Request, template: str, http_status: int = 200, **context: Any) -> HTMLResponse:
    context.setdefault("customer", SIGNED_IN_CUSTOMER.of(request))
    return page(templates, request, template, http_status, context)


def double_submit_page(
    request: Request, template: str, http_status: int = 200, *, secure: bool, **context: Any
) -> Response:
    """A form posted before any session exists: its token is also set in a strict cookie (double submit);
    ``secure``: the cookie's flag (``web.frame.CookieSecure``)."""
    return COOKIES.signin_form(
        lambda token: render(request, template, http_status, csrf=token, **context), secure=secure
    )


# The portal's answers to its errors (``create_app`` scopes them to the portal routes).


# The sign-in code of an application (``/portal/device?code=...``) opened before its person signed in: kept in a
# cookie, only in the code's own shape, so that the link's redemption leads back to it (never anywhere else).
DEVICE_CODE_COOKIE = "licentia_portal_device_code"


def _device_code(text: str) -> str | None:
    try:
        return normalize_user_code(text[:20])
    except UserCodeFormatError:
        return None


async def sign_in_first(request: Request, _exc: Exception) -> Response:
    response = RedirectResponse("/portal/signin", status_code=303)
    code = _device_code(request.query_params.get("code", "")) if request.url.path == "/portal/device" else None
    if code is not None:  # no secret: a code alone signs nobody in (the person confirms it, signed in)
        secure = request.url.scheme == "https"
        response.set_cookie(
            DEVICE_CODE_COOKIE, code, max_age=3600, path="/portal", httponly=True, samesite="lax", secure=secure
        )
    return response


def after_sign_in(request: Request) -> str:
    """Where a redeemed link leads: the application's code page it was opened for, else the customer's licenses."""
    code = _device_code(request.cookies.get(DEVICE_CODE_COOKIE, ""))
    return "/portal" if code is None else f"/portal/device?code={code}"


def refused(request: Request, status: int, reason: str) -> Response:
    """The portal's refusal page, leading back to the customer's licenses (or to the offline page it came from)."""
    offline = request.url.path.startswith("/portal/offline")
    back_to, back_label = ("/portal/offline", "offline activation") if offline else ("/portal", "your licenses")
    return render(request, "portal_refused.html", status, reason=reason, back_to=back_to, back_label=back_label)


async def refused_page(request: Request, exc: Exception) -> Response:
    """A license that is not the customer's (the same words as a missing one), a malformed id, an upload too large:
    the page says so, its status kept (``create_app`` answers an API client the JSON errors instead)."""
    return refused(request, *refusal_of(exc))


async def refused_form(request: Request, _exc: Exception) -> Response:
    # No action ran: the form did not carry this session's token (forged, or a stale tab).
    return refused(request, 403, "The form's security token is missing or wrong.")


async def no_such_page(scope: Any, receive: Any, send: Any) -> None:
    """Every other path under ``/portal`` (mounted after the pages): a page saying so to a browser."""
    if not wants_page(scope):
        raise HTTPException(404)  # the JSON error, as for any unknown path
    response = refused(Request(scope, receive), 404, "There is no such page.")
    await response(scope, receive, send)
