"""The admin pages' own layer over the shared frame (``web.frame``): the signed-in admin, roles on every
form, redirects with a message, and the pages that answer the admin UI's errors.

CSRF: every form posts the session's token back (``checked_form``); see ``web.frame``.
"""

from __future__ import annotations

import datetime as dt
import inspect
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, TypeVar

from fastapi import Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.exceptions import HTTPException as StarletteHTTPException

from licentia.server.auth.accounts import CurrentAdmin, current_admin
from licentia.server.auth.roles import needed_for
from licentia.server.errors import ApiError, ErrorCode
from licentia.server.state import ClockDep, EngineDep, RequestSlot
from licentia.server.store import transactions
from licentia.server.web.flash import Flash
from licentia.server.web.frame import page, page_templates, refusal_of, session_form, wants_page
from licentia.server.web.signin import SessionCookies

T = TypeVar("T")
HERE = Path(__file__).parent
templates = page_templates(HERE / "templates")
COOKIES = SessionCookies(session="licentia_session", signin="licentia_signin", flash="licentia_flash", path="/admin")
# The admin a request signed in as (set by ``Admin``, read by ``render``).
SIGNED_IN_ADMIN = RequestSlot("admin", CurrentAdmin)
Admin = Annotated[CurrentAdmin, Depends(COOKIES.signed_in(current_admin, slot=SIGNED_IN_ADMIN))]
# Redirects with a message for the next page: ``flash.back(url, done=...)`` (``web.flash``).
Flashes = Annotated[Flash, Depends(COOKIES.flash_of)]


async def checked_form(request: Request, admin: Admin) -> dict[str, str]:
    """The posted form, once its CSRF token matched the session's and the admin's role allows the change.

    Every change in the admin UI posts a form through here, so this is the one
    place roles are enforced for the pages (``admin.roles.needed_for``).
    """
    form = await session_form(request, admin.csrf_token)
    needed = needed_for(request.url.path)
    if not admin.may(needed):
        raise HTTPException(
            403, f"Your role ({admin.role}) cannot make this change: it needs the {needed.value} role. Ask an owner."
        )
    return form


Form = Annotated[dict[str, str], Depends(checked_form)]


def render(request: Request, template: str, http_status: int = 200, **context: Any) -> HTMLResponse:
    context.setdefault("admin", SIGNED_IN_ADMIN.of(request))
    context.setdefault("status_code", http_status)
    context.setdefault("section", template.split(".")[0].split("_")[0])
    return page(templates, request, template, http_status, context)


@dataclass(frozen=True)
class Change:
    """A change posted from an admin page: its form (CSRF and role checked), what runs it, and the flash that
    tells the next page how it went."""

    form: dict[str, str]
    engine: AsyncEngine
    now: dt.datetime
    actor: str
    flash: Flash

    def back(self, url: str, *, done: str | None = None, error: str | None = None) -> Response:
        """Redirect to ``url``, its page showing ``done`` or ``error`` (``web.flash``)."""
        return self.flash.back(url, done=done, error=error)

    async def run(
        self,
        fn: Callable[..., T],
        *,
        success: str | Callable[[T], str | Response | Awaitable[Response]],
        back_to: str,
        refused: Callable[[ApiError], Awaitable[Response]] | None = None,
        **kwargs: Any,
    ) -> Response:
        """Run the audited service change ``fn(conn, now=, actor=, **kwargs)`` in one transaction; post/redirect/get
        back to ``back_to`` with ``success``, or with the refusal's message instead of a JSON body (or the answer
        ``refused`` gives it: the form again, as it was typed, with the error beside its field).

        ``success`` may be a function of what ``fn`` returned: the message, or the whole answer (a redirect
        elsewhere than ``back_to``, to what the change made, or a page awaited: one showing a secret once).
        """
        try:
            result = await transactions.in_transaction(self.engine, fn, now=self.now, actor=self.actor, **kwargs)
        except ApiError as exc:
            return await refused(exc) if refused else self.back(back_to, error=exc.message)
        done = success(result) if callable(success) else success
        if inspect.isawaitable(done):
            return await done
        return done if isinstance(done, Response) else self.back(back_to, done=done)


async def posted_change(form: Form, engine: EngineDep, clock: ClockDep, admin: Admin, flash: Flashes) -> Change:
    return Change(form=form, engine=engine, now=clock.now(), actor=admin.label, flash=flash)


Posted = Annotated[Change, Depends(posted_change)]


def signin_page(
    request: Request,
    *,
    secure: bool,
    error: str | None = None,
    status: int = 200,
    email: str = "",
    connections: Sequence[Any] = (),
) -> Response:
    """The sign-in form with a fresh double-submit token (no session exists yet to hold one); ``secure``: its
    cookie's flag (``web.frame.CookieSecure``)."""
    next_page = request.query_params.get("next", "")

    def page(token: str) -> Response:
        return render(
            request, "signin.html", status, csrf=token, error=error, next=next_page, email=email, sso=connections
        )

    return COOKIES.signin_form(page, secure=secure)


async def read_or_404(engine: AsyncEngine, fn: Callable[..., T], /, **kwargs: Any) -> T:
    """What a page shows, read by ``fn(conn, **kwargs)`` on a snapshot; a refusal (an unknown id) answers the
    404 page with its message."""
    try:
        return await transactions.read_only(engine, fn, **kwargs)
    except ApiError as exc:
        raise HTTPException(404, exc.message) from exc


def from_htmx(request: Request) -> bool:
    """Whether HTMX made the request (it swaps a part of the page in), not the browser opening a page."""
    return bool(request.headers.get("hx-request"))


def int_field(form: dict[str, str], name: str) -> int:
    try:
        return int(form.get(name, "").strip())
    except ValueError as exc:
        message = f"{name.replace('_', ' ')} must be a whole number"
        raise ApiError(ErrorCode.INVALID_NUMBER, message, details={"field": name}) from exc


# The admin UI's answers to its errors (``create_app`` scopes them to the admin routes, and answers an API client
# the JSON errors instead: ``web.frame.wants_page``). A refused page leads back to the list of its area.
AREAS = {
    "devices": "the devices",
    "machines": "the machines",
    "licenses": "the licenses",
    "customers": "the customers",
    "releases": "the releases",
    "products": "the products",
    "payments": "payments",
    "tokens": "the API tokens",
    "webhooks": "the webhooks",
    "emails": "the emails",
    "admins": "the admins",
    "risk": "piracy risk",
    "audit": "the audit log",
    "offline": "offline activations",
}


def _refused(request: Request, status: int, reason: str) -> HTMLResponse:
    area = request.url.path.removeprefix("/admin/").split("/")[0]
    back_to, back_label = (f"/admin/{area}", AREAS[area]) if area in AREAS else ("/admin", "the dashboard")
    context = {"reason": reason, "back_to": back_to, "back_label": back_label, "section": area}
    return render(request, "refused.html", status, **context)


async def sign_in_first(request: Request, _exc: Exception) -> Response:
    if from_htmx(request):
        return Response(status_code=401, headers={"HX-Redirect": "/admin/signin"})
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/admin/signin?next={target}", status_code=303)


async def refused_form(request: Request, _exc: Exception) -> HTMLResponse:
    # No action ran: the form did not carry this session's token (forged, or a stale tab).
    return _refused(request, 403, "The form's security token is missing or wrong.")


async def refused_page(request: Request, exc: Exception) -> HTMLResponse:
    """An unknown or malformed id, a refused change, a body too large...: the page says so, its status kept."""
    return _refused(request, *refusal_of(exc))


async def no_such_page(scope: Any, receive: Any, send: Any) -> None:
    """Every other path under ``/admin`` (mounted after the pages): a page saying so to a browser."""
    if not wants_page(scope):
        raise StarletteHTTPException(404)  # the JSON error, as for any unknown path
    response = _refused(Request(scope, receive), 404, "There is no such page.")
    await response(scope, receive, send)
