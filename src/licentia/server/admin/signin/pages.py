"""Sign-in and sign-out."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.concurrency import run_in_threadpool

from licentia.server.admin.web import COOKIES, Admin, Form, render, signin_page
from licentia.server.auth.accounts import (
    CurrentAdmin,
    SignInRefused,
    conclude_sign_in,
    current_admin,
    password_hash_of,
    sign_out,
    verify_password,
)
from licentia.server.auth.second_factor import (
    conclude_second_factor,
    is_recovery_code,
    matching_recovery_hash,
    recovery_hashes_of,
)
from licentia.server.sso.connections import Purpose, list_connections
from licentia.server.state import ClockDep, EngineDep, SettingsDep, StateDep
from licentia.server.store import transactions
from licentia.server.store.sessions import session_hash
from licentia.server.web.frame import CookieSecure, form_token_ok

router = APIRouter()


def safe_next(target: str) -> str:
    # Only local admin paths: an open redirect would lend our domain to phishing.
    return target if target.startswith("/admin") and not target.startswith("//") else "/admin"


async def signin_page_with_sso(
    request: Request, engine: AsyncEngine, *, secure: bool, error: str | None = None, status: int = 200
) -> Response:
    """The sign-in page with a "Sign in with ..." button for each of the installation's admin connections."""
    connections = await transactions.read_only(engine, list_connections, purpose=Purpose.ADMIN)
    return signin_page(request, secure=secure, error=error, status=status, connections=connections)


@router.get("/signin")
async def signin_form(request: Request, engine: EngineDep, secure: CookieSecure) -> Response:
    return await signin_page_with_sso(request, engine, secure=secure)


@router.post("/signin")
async def signin(
    request: Request, settings: SettingsDep, clock: ClockDep, engine: EngineDep, secure: CookieSecure
) -> Response:
    form = await request.form()
    if not COOKIES.signin_form_ok(request, form):
        return signin_page(request, secure=secure, error="Your sign-in form expired; please try again.", status=403)
    email, password = str(form.get("email", "")), str(form.get("password", ""))
    lifetime = dt.timedelta(hours=settings.admin_session_hours)
    stored = await transactions.read_only(engine, password_hash_of, email=email)
    ok = await run_in_threadpool(verify_password, stored, password)
    done = await transactions.in_transaction(
        engine, conclude_sign_in, email=email, password_ok=ok, now=clock.now(), lifetime=lifetime
    )
    if isinstance(done, SignInRefused):
        # Same words whether the account exists or not; a locked account is told to wait.
        message = (
            "Too many attempts: this account is locked for 15 minutes." if done.locked else "Wrong email or password."
        )
        return signin_page(request, secure=secure, error=message, status=401, email=email)
    next_page = safe_next(str(form.get("next", "")))
    return COOKIES.start(
        # A second factor is due: the session opens only the code page until it passes.
        to=f"/admin/signin/code?{urlencode({'next': next_page})}" if done.needs_code else next_page,
        session_id=done.session_id,
        lifetime=lifetime,
        secure=secure,
    )


async def _waiting(request: Request, engine: AsyncEngine, now: dt.datetime) -> CurrentAdmin | None:
    session_id = COOKIES.session_id(request)
    if not session_id:
        return None
    return await transactions.read_only(engine, current_admin, session_id=session_id, now=now, awaiting_code=True)


def _code_page(request: Request, waiting: CurrentAdmin, *, error: str | None = None, status: int = 200) -> Response:
    next_page = safe_next(request.query_params.get("next", ""))
    return render(request, "signin_code.html", status, admin=None, waiting=waiting, error=error, next=next_page)


@router.get("/signin/code")
async def code_form(request: Request, engine: EngineDep, clock: ClockDep) -> Response:
    waiting = await _waiting(request, engine, clock.now())
    if waiting is None:
        return RedirectResponse("/admin/signin", status_code=303)
    return _code_page(request, waiting)


@router.post("/signin/code")
async def code_submit(request: Request, state: StateDep, engine: EngineDep, secure: CookieSecure) -> Response:
    waiting = await _waiting(request, engine, state.clock.now())
    if waiting is None:
        return signin_page(request, secure=secure, error="Your sign-in expired; please sign in again.", status=401)
    form = await request.form()
    if not form_token_ok(request, form, waiting.csrf_token):
        return _code_page(request, waiting, error="Your form expired; please try again.", status=403)
    code = str(form.get("code", ""))
    used = None
    if is_recovery_code(code):
        hashes = await transactions.read_only(engine, recovery_hashes_of, user_id=waiting.user_id)
        used = await run_in_threadpool(matching_recovery_hash, hashes, code) or "no-match"
    lifetime = dt.timedelta(hours=state.settings.admin_session_hours)
    done = await transactions.in_transaction(
        engine,
        conclude_second_factor,
        user_id=waiting.user_id,
        pending_hash=session_hash(COOKIES.session_id(request)),
        code=code,
        used_recovery_hash=used,
        fernet=state.settings.fernet(),
        now=state.clock.now(),
        lifetime=lifetime,
    )
    if done is None:
        return _code_page(request, waiting, error="That code is wrong or was already used.", status=401)
    next_page = safe_next(str(form.get("next", "")))
    return COOKIES.start(to=next_page, session_id=done.session_id, lifetime=lifetime, secure=secure)


@router.post("/signout")
async def signout(request: Request, admin: Admin, form: Form, engine: EngineDep, clock: ClockDep) -> Response:
    await transactions.in_transaction(
        engine, sign_out, admin=admin, session_id=COOKIES.session_id(request), now=clock.now()
    )
    return COOKIES.end(to="/admin/signin")
