"""The customer portal at ``/portal``: thin pages over ``portal.service`` and ``portal.accounts``."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any
from urllib.parse import quote

import sqlalchemy as sa
from cryptography.fernet import Fernet
from fastapi import APIRouter, Path, Request
from fastapi.responses import FileResponse, RedirectResponse, Response

from licentia.server.customers import accounts, emails, service
from licentia.server.customers.downloads import (
    DownloadGrant,
    DownloadRefused,
    download_secret,
    sign_download,
    stored_file,
    verify_download,
)
from licentia.server.errors import ApiError
from licentia.server.portal.web import COOKIES, Form, SignedIn, double_submit_page, network, render
from licentia.server.state import ClockDep, SettingsDep, StateDep, in_transaction, read_only, state_of
from licentia.server.web.frame import back, now

router = APIRouter()
LicenseId = Annotated[int, Path(ge=1, le=2**62)]
MachineId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,32}$")]


def _settings(request: Request) -> Any:
    return state_of(request.app).settings


@router.get("")
@router.get("/")
async def home(request: Request, customer: SignedIn) -> Response:
    found = await read_only(request, service.customer_licenses, email=customer.email, now=now(request))
    return render(request, "portal_home.html", licenses=found)


@router.get("/signin")
async def signin_form(request: Request) -> Response:
    return double_submit_page(request, "portal_signin.html")


def _ask_for_link(
    conn: sa.Connection, *, email: str, base_url: str, settings: Any, fernet: Fernet, **options: Any
) -> Any:
    minutes = settings.portal_link_minutes
    asked = accounts.request_link(conn, email=email, lifetime=dt.timedelta(minutes=minutes), **options)
    if asked.token is not None:
        link = f"{base_url}/portal/link?token={quote(asked.token)}"
        reply_to = emails.reply_to_for(conn, product_id=None, default=settings.customer_reply_to)
        emails.send_signin_link(
            conn, to=email, link=link, minutes=minutes, now=options["now"], reply_to=reply_to, fernet=fernet
        )
    return asked


@router.post("/signin")
async def signin(request: Request, state: StateDep) -> Response:
    form = await request.form()
    if not COOKIES.signin_form_ok(request, form):
        return double_submit_page(request, "portal_signin.html", 403, error="Your form expired; please try again.")
    email = accounts.normalize_email(str(form.get("email", "")))
    if email is None:
        return double_submit_page(request, "portal_signin.html", 422, error="Please enter your email address.")
    settings = state.settings
    asked = await in_transaction(
        request,
        _ask_for_link,
        email=email,
        base_url=settings.base_url.rstrip("/"),
        settings=settings,
        fernet=state.fernet,
        network=network(request),
        now=state.clock.now(),
        per_address=settings.portal_links_per_address_per_hour,
        per_network=settings.portal_links_per_network_per_hour,
    )
    if asked.retry_after is not None:
        response = double_submit_page(
            request, "portal_signin.html", 429, error="Too many sign-in links asked for; please try again later."
        )
        response.headers["Retry-After"] = str(asked.retry_after)
        return response
    # The same page whether or not the address has licenses (no account discovery).
    return render(request, "portal_sent.html", email=email, minutes=settings.portal_link_minutes)


@router.get("/link")
async def link_page(request: Request, token: str = "") -> Response:
    # A GET spends nothing: mail scanners open links before the customer does.
    return double_submit_page(request, "portal_link.html", token=token[:200])


@router.post("/link")
async def redeem(request: Request, settings: SettingsDep, clock: ClockDep) -> Response:
    form = await request.form()
    if not COOKIES.signin_form_ok(request, form):
        return double_submit_page(request, "portal_signin.html", 403, error="Your form expired; please try again.")
    lifetime = dt.timedelta(hours=settings.portal_session_hours)
    done = await in_transaction(
        request,
        accounts.redeem_link,
        token=str(form.get("token", ""))[:200],
        network=network(request),
        now=clock.now(),
        lifetime=lifetime,
    )
    if isinstance(done, accounts.LinkRefused):
        response = double_submit_page(request, "portal_signin.html", 429 if done.retry_after else 401, error=str(done))
        if done.retry_after:
            response.headers["Retry-After"] = str(done.retry_after)
        return response
    return COOKIES.start(request, to="/portal", session_id=done.session_id, lifetime=lifetime)


@router.post("/signout")
async def signout(request: Request, customer: SignedIn, form: Form) -> Response:
    await in_transaction(request, accounts.sign_out, session_id=COOKIES.session_id(request))
    return COOKIES.end(to="/portal/signin")


def _license_page(conn: sa.Connection, *, email: str, license_id: int, now: dt.datetime) -> Any:
    view = service.customer_license(conn, email=email, license_id=license_id, now=now)
    row = service.owned_license(conn, email=email, license_id=license_id)
    return view, service.entitled_releases(conn, license_row=row)


@router.get("/licenses/{license_id}")
async def license_page(request: Request, customer: SignedIn, license_id: LicenseId) -> Response:
    view, releases = await read_only(
        request, _license_page, email=customer.email, license_id=license_id, now=now(request)
    )
    secret = download_secret(_settings(request))
    links = {
        r.id: "/portal/download/"
        + sign_download(secret, DownloadGrant(license_id, r.id, customer.email), now=now(request))
        for r in releases
    }
    return render(request, "portal_license.html", license=view, releases=releases, links=links)


@router.post("/licenses/{license_id}/machines/{machine_id}/free")
async def free_machine(
    request: Request, customer: SignedIn, form: Form, license_id: LicenseId, machine_id: MachineId
) -> Response:
    target = f"/portal/licenses/{license_id}"
    try:
        await in_transaction(
            request,
            service.free_machine,
            email=customer.email,
            license_id=license_id,
            machine_id=machine_id,
            reason=form.get("reason", ""),
            now=now(request),
        )
    except ApiError as exc:
        if exc.status == 404:
            raise
        return back(target, error=exc.message)
    return back(target, done="The machine's seat is free. The application there learns it at its next check.")


@router.get("/download/{token}")
async def download(request: Request, token: str) -> Response:
    settings = _settings(request)
    ttl = dt.timedelta(minutes=settings.portal_download_minutes)
    try:
        grant = verify_download(download_secret(settings), token, now=now(request), ttl=ttl)
    except DownloadRefused as exc:
        return render(request, "portal_refused.html", 403, reason=f"{exc}. Open your license page for a fresh link.")
    release = await read_only(
        request, service.entitled_release, email=grant.email, license_id=grant.license_id, release_id=grant.release_id
    )
    try:
        path = stored_file(settings.data_dir, release.download_url)
    except DownloadRefused as exc:
        return render(request, "portal_refused.html", 404, reason=str(exc))
    if path is not None:
        return FileResponse(path, filename=path.name, headers={"Cache-Control": "no-store"})
    return RedirectResponse(release.download_url, status_code=303)
