"""Sign-in and sign-out."""

from __future__ import annotations

import datetime as dt
import hmac

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from licentia.server.admin.accounts import (
    SignInRefused,
    conclude_sign_in,
    password_hash_of,
    sign_out,
    verify_password,
)
from licentia.server.admin.web import (
    COOKIE_PATH,
    SESSION_COOKIE,
    SIGNIN_COOKIE,
    Admin,
    Form,
    now,
    same_origin,
    signin_page,
    start_session,
)
from licentia.server.state import in_transaction, read_only, state_of

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
