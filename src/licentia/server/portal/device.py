"""The portal's device sign-in page (``/portal/device``): a person confirms the code their application shows.

RFC 8628's verification page. Three steps, so that neither a link nor a page
load signs anyone in: the code (typed, or filled in from the application's
link), then a confirmation naming the product and the computer, then the
person's choice, posted with the session's CSRF token. Wrong codes are
counted per person and per network (``users.device_flow.pending_for``).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from licentia.core.usercodes import UserCodeFormatError, normalize_user_code, shown
from licentia.server.errors import ApiError
from licentia.server.network import client_ip
from licentia.server.portal.web import Form, SignedIn, render
from licentia.server.state import StateDep
from licentia.server.store import transactions
from licentia.server.users import device_flow

router = APIRouter(prefix="/device")


def _page(request: Request, status: int = 200, **context: Any) -> Response:
    return render(request, "portal_device.html", status, **context)


def _refused(request: Request, exc: ApiError, code: str = "") -> Response:
    response = _page(request, exc.status, error=exc.message, error_code=exc.code, code=code)
    response.headers.update(exc.headers)
    return response


@router.get("")
async def code_form(request: Request, customer: SignedIn, code: str = "") -> Response:
    # A GET only fills the code in: the application's link never signs anyone in by being opened.
    try:
        code = shown(normalize_user_code(code[:20]))
    except UserCodeFormatError:
        code = code[:20]
    return _page(request, code=code)


@router.post("")
async def confirm(request: Request, customer: SignedIn, form: Form, state: StateDep) -> Response:
    typed = form.get("code", "")[:20]
    found = await transactions.in_transaction(
        state.async_engine,
        device_flow.pending_for,
        typed=typed,
        email=customer.email,
        network=client_ip(request, state.trusted_proxies),
        now=state.clock.now(),
        guesses_per_hour=state.settings.device_code_guesses_per_hour,
    )
    if isinstance(found, ApiError):
        return _refused(request, found, typed)
    return _page(request, pending=found, shown_code=shown(found.user_code))


@router.post("/approve")
async def approve(request: Request, customer: SignedIn, form: Form, state: StateDep) -> Response:
    code = form.get("code", "")[:20]
    try:
        await transactions.in_transaction(
            state.async_engine, device_flow.approve, user_code=code, email=customer.email, now=state.clock.now()
        )
    except ApiError as exc:
        return _refused(request, exc, code)
    return _page(request, done="You are signed in. Return to the application: it continues on its own.")


@router.post("/deny")
async def deny(request: Request, customer: SignedIn, form: Form, state: StateDep) -> Response:
    code = form.get("code", "")[:20]
    try:
        await transactions.in_transaction(
            state.async_engine, device_flow.deny, user_code=code, email=customer.email, now=state.clock.now()
        )
    except ApiError as exc:
        return _refused(request, exc, code)
    return _page(request, done="Refused. The application was told; nobody was signed in.")
