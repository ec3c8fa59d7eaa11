"""Sign-in and sign-out."""

from __future__ import annotations

import datetime as dt
import hmac
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from licentia.server.admin.web import COOKIE_PATH, SESSION_COOKIE, SIGNIN_COOKIE, Admin, Form, render, signin_page
from licentia.server.auth.accounts import (
    CurrentAdmin,
    SignInRefused,
    conclude_sign_in,
    current_admin,
    password_hash_of,
    session_hash,
    sign_out,
    verify_password,
)
from licentia.server.auth.second_factor import (
    conclude_second_factor,
    is_recovery_code,
    matching_recovery_hash,
    recovery_hashes_of,
)
from licentia.server.state import in_transaction, read_only, state_of
from licentia.server.web.frame import now, same_origin, start_session

router = APIRouter()


def _safe_next(target: str) -> str:
    # Only local admin paths: an open redirect would lend our domain to phishing.
    return target if target.startswith("/admin") and not target.startswith("//") else "/admin"


@router.get("/signin")
async def signin_form(request: Request) -> Response:
    return signin_page(request)


@router.post("/signin")
async def signin(request: Request) -> Response:
    form = await request.form()
    sent, cookie = form.get("csrf"), request.cookies.get(SIGNIN_COOKIE)
    if (
        not same_origin(request)
        or not isinstance(sent, str)
        or not cookie
        or not hmac.compare_digest(sent.encode(), cookie.encode())
    ):
        return signin_page(request, error="Your sign-in form expired; please try again.", status=403)
    email, password = str(form.get("email", "")), str(form.get("password", ""))
    settings = state_of(request.app).settings
    lifetime = dt.timedelta(hours=settings.admin_session_hours)
    stored = await read_only(request, password_hash_of, email=email)
    ok = await run_in_threadpool(verify_password, stored, password)
    done = await in_transaction(
        request, conclude_sign_in, email=email, password_ok=ok, now=now(request), lifetime=lifetime
    )
    if isinstance(done, SignInRefused):
        # Same words whether the account exists or not; a locked account is told to wait.
        message = (
            "Too many attempts: this account is locked for 15 minutes." if done.locked else "Wrong email or password."
        )
        return signin_page(request, error=message, status=401, email=email)
    next_page = _safe_next(str(form.get("next", "")))
    return start_session(
        request,
        # A second factor is due: the session opens only the code page until it passes.
        to=f"/admin/signin/code?{urlencode({'next': next_page})}" if done.needs_code else next_page,
        cookie=SESSION_COOKIE,
        session_id=done.session_id,
        lifetime=lifetime,
        path=COOKIE_PATH,
        signin_cookie=SIGNIN_COOKIE,
    )


async def _waiting(request: Request) -> CurrentAdmin | None:
    session_id = request.cookies.get(SESSION_COOKIE)
    if not session_id:
        return None
    return await read_only(request, current_admin, session_id=session_id, now=now(request), awaiting_code=True)


def _code_page(request: Request, waiting: CurrentAdmin, *, error: str | None = None, status: int = 200) -> Response:
    next_page = _safe_next(request.query_params.get("next", ""))
    return render(request, "signin_code.html", status, admin=None, waiting=waiting, error=error, next=next_page)


@router.get("/signin/code")
async def code_form(request: Request) -> Response:
    waiting = await _waiting(request)
    if waiting is None:
        return RedirectResponse("/admin/signin", status_code=303)
    return _code_page(request, waiting)


@router.post("/signin/code")
async def code_submit(request: Request) -> Response:
    waiting = await _waiting(request)
    if waiting is None:
        return signin_page(request, error="Your sign-in expired; please sign in again.", status=401)
    form = await request.form()
    sent = form.get("csrf")
    if (
        not same_origin(request)
        or not isinstance(sent, str)
        or not hmac.compare_digest(sent.encode(), waiting.csrf_token.encode())
    ):
        return _code_page(request, waiting, error="Your form expired; please try again.", status=403)
    code = str(form.get("code", ""))
    state = state_of(request.app)
    used = None
    if is_recovery_code(code):
        hashes = await read_only(request, recovery_hashes_of, user_id=waiting.user_id)
        used = await run_in_threadpool(matching_recovery_hash, hashes, code) or "no-match"
    lifetime = dt.timedelta(hours=state.settings.admin_session_hours)
    done = await in_transaction(
        request,
        conclude_second_factor,
        user_id=waiting.user_id,
        pending_hash=session_hash(request.cookies.get(SESSION_COOKIE, "")),
        code=code,
        used_recovery_hash=used,
        fernet=state.settings.fernet(),
        now=now(request),
        lifetime=lifetime,
    )
    if done is None:
        return _code_page(request, waiting, error="That code is wrong or was already used.", status=401)
    return start_session(
        request,
        to=_safe_next(str(form.get("next", ""))),
        cookie=SESSION_COOKIE,
        session_id=done.session_id,
        lifetime=lifetime,
        path=COOKIE_PATH,
        signin_cookie=SIGNIN_COOKIE,
    )


@router.post("/signout")
async def signout(request: Request, admin: Admin, form: Form) -> Response:
    session_id = request.cookies.get(SESSION_COOKIE, "")
    await in_transaction(request, sign_out, admin=admin, session_id=session_id, now=now(request))
    response = RedirectResponse("/admin/signin", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path=COOKIE_PATH)
    return response
