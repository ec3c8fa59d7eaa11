"""The customer portal at ``/portal``: thin pages over ``portal.service`` and ``portal.accounts``."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar
from urllib.parse import quote

import sqlalchemy as sa
from cryptography.fernet import Fernet
from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import FileResponse, RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from licentia.core.clock import Clock
from licentia.server.customers import accounts, emails, service
from licentia.server.customers.accounts import SignedInCustomer
from licentia.server.customers.downloads import (
    DownloadGrant,
    DownloadRefused,
    bundle_with_ticket,
    download_secret,
    sign_download,
    stored_file,
    verify_download,
)
from licentia.server.errors import ApiError
from licentia.server.network import client_ip
from licentia.server.portal.organisations import organisations_of
from licentia.server.portal.web import (
    COOKIES,
    DEVICE_CODE_COOKIE,
    Flashes,
    Form,
    SignedIn,
    after_sign_in,
    double_submit_page,
    render,
)
from licentia.server.sso.connections import Purpose, list_connections
from licentia.server.state import AppState, ClockDep, EngineDep, SettingsDep, StateDep
from licentia.server.store import transactions
from licentia.server.tickets.service import TICKET_FILE, mint_for_customer
from licentia.server.users.reads import seats_of
from licentia.server.web.flash import Flash
from licentia.server.web.frame import CookieSecure

T = TypeVar("T")
router = APIRouter()
LicenseId = Annotated[int, Path(ge=1, le=2**62)]
MachineId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,32}$")]


@router.get("")
@router.get("/")
async def home(request: Request, customer: SignedIn, engine: EngineDep, clock: ClockDep) -> Response:
    now = clock.now()
    found = await transactions.read_only(engine, service.customer_licenses, email=customer.email, now=now)
    teams = await transactions.read_only(engine, organisations_of, email=customer.email, now=now)
    seats = await transactions.read_only(engine, seats_of, email=customer.email)
    return render(request, "portal_home.html", licenses=found, organisations=teams, seats=seats)


@router.get("/signin")
async def signin_form(request: Request, engine: EngineDep, secure: CookieSecure) -> Response:
    sso = bool(await transactions.read_only(engine, list_connections, purpose=Purpose.PORTAL))
    return double_submit_page(request, "portal_signin.html", secure=secure, sso=sso)


def _ask_for_link(
    conn: sa.Connection, *, email: str, base_url: str, settings: Any, fernet: Fernet, **options: Any
) -> Any:
    minutes = settings.portal_link_minutes
    asked = accounts.request_link(conn, email=email, lifetime=dt.timedelta(minutes=minutes), **options)
    if asked.token is not None:
        link = f"{base_url}/portal/link?token={quote(asked.token)}"
        reply_to = emails.reply_to_for(conn, product_id=None, default=settings.customer_reply_to)
        said = emails.signin_email(link=link, minutes=minutes, products=accounts.product_names(conn, email))
        emails.send_signin_link(
            conn, to=email, email=said, link=link, now=options["now"], reply_to=reply_to, fernet=fernet
        )
    return asked


async def _signin_form(request: Request, secure: bool) -> FormData | Response:
    """The posted form, or the sign-in page again when the form lacks its cookie's token (expired, or forged)."""
    form = await request.form()
    if COOKIES.signin_form_ok(request, form):
        return form
    return double_submit_page(
        request, "portal_signin.html", 403, secure=secure, error="Your form expired; please try again."
    )


@router.post("/signin")
async def signin(request: Request, state: StateDep, engine: EngineDep, secure: CookieSecure) -> Response:
    form = await _signin_form(request, secure)
    if isinstance(form, Response):
        return form
    email = accounts.normalize_email(str(form.get("email", "")))
    if email is None:
        return double_submit_page(
            request, "portal_signin.html", 422, secure=secure, error="Please enter your email address."
        )
    settings = state.settings
    asked = await transactions.in_transaction(
        engine,
        _ask_for_link,
        email=email,
        base_url=settings.base_url.rstrip("/"),
        settings=settings,
        fernet=state.fernet,
        network=client_ip(request, state.trusted_proxies),
        now=state.clock.now(),
        per_address=settings.portal_links_per_address_per_hour,
        per_network=settings.portal_links_per_network_per_hour,
    )
    if asked.retry_after is not None:
        response = double_submit_page(
            request,
            "portal_signin.html",
            429,
            secure=secure,
            error="Too many sign-in links asked for; please try again later.",
        )
        response.headers["Retry-After"] = str(asked.retry_after)
        return response
    # The same page whether or not the address has licenses (no account discovery).
    return render(request, "portal_sent.html", email=email, minutes=settings.portal_link_minutes)


@router.get("/link")
async def link_page(request: Request, secure: CookieSecure, token: str = "") -> Response:
    # A GET spends nothing: mail scanners open links before the customer does.
    return double_submit_page(request, "portal_link.html", secure=secure, token=token[:200])


@router.post("/link")
async def redeem(request: Request, state: StateDep, engine: EngineDep, secure: CookieSecure) -> Response:
    form = await _signin_form(request, secure)
    if isinstance(form, Response):
        return form
    lifetime = dt.timedelta(hours=state.settings.portal_session_hours)
    done = await transactions.in_transaction(
        engine,
        accounts.redeem_link,
        token=str(form.get("token", ""))[:200],
        network=client_ip(request, state.trusted_proxies),
        now=state.clock.now(),
        lifetime=lifetime,
    )
    if isinstance(done, accounts.LinkRefused):
        response = double_submit_page(
            request, "portal_signin.html", 429 if done.retry_after else 401, secure=secure, error=str(done)
        )
        if done.retry_after:
            response.headers["Retry-After"] = str(done.retry_after)
        return response
    response = COOKIES.start(to=after_sign_in(request), session_id=done.session_id, lifetime=lifetime, secure=secure)
    response.delete_cookie(DEVICE_CODE_COOKIE, path="/portal")
    return response


@router.post("/signout")
async def signout(request: Request, customer: SignedIn, form: Form, engine: EngineDep) -> Response:
    await transactions.in_transaction(engine, accounts.sign_out, session_id=COOKIES.session_id(request))
    return COOKIES.end(to="/portal/signin")


def _license_page(conn: sa.Connection, *, email: str, license_id: int, now: dt.datetime) -> Any:
    view = service.customer_license(conn, email=email, license_id=license_id, now=now)
    row = service.owned_license(conn, email=email, license_id=license_id)
    return view, service.entitled_releases(conn, license_row=row)


@router.get("/licenses/{license_id}")
async def license_page(
    request: Request,
    customer: SignedIn,
    license_id: LicenseId,
    engine: EngineDep,
    clock: ClockDep,
    settings: SettingsDep,
) -> Response:
    view, releases = await transactions.read_only(
        engine, _license_page, email=customer.email, license_id=license_id, now=clock.now()
    )
    secret = download_secret(settings)
    links = {
        r.id: "/portal/download/"
        + sign_download(secret, DownloadGrant(license_id, r.id, customer.email), now=clock.now())
        for r in releases
    }
    return render(request, "portal_license.html", license=view, releases=releases, links=links)


@dataclass(frozen=True)
class MachineChange:
    """A customer's change to one machine of their license, posted from its page (CSRF checked)."""

    customer: SignedInCustomer
    form: dict[str, str]
    flash: Flash
    license_id: int
    machine_id: str
    engine: AsyncEngine
    clock: Clock

    async def run(self, fn: Callable[..., T], done: Callable[[T], str], **kwargs: Any) -> Response:
        """``fn`` of the signed-in customer's license and machine; back to the license's page saying how it went."""
        target = f"/portal/licenses/{self.license_id}"
        try:
            result = await transactions.in_transaction(
                self.engine,
                fn,
                email=self.customer.email,
                license_id=self.license_id,
                machine_id=self.machine_id,
                now=self.clock.now(),
                **kwargs,
            )
        except ApiError as exc:
            if exc.status == 404:
                raise
            return self.flash.back(target, error=exc.message)
        return self.flash.back(target, done=done(result))


async def machine_change(
    customer: SignedIn,
    form: Form,
    flash: Flashes,
    license_id: LicenseId,
    machine_id: MachineId,
    engine: EngineDep,
    clock: ClockDep,
) -> MachineChange:
    return MachineChange(customer, form, flash, license_id, machine_id, engine, clock)


PostedMachine = Annotated[MachineChange, Depends(machine_change)]


@router.post("/licenses/{license_id}/machines/{machine_id}/free")
async def free_machine(change: PostedMachine) -> Response:
    freed = "The machine's seat is free. The application there learns it at its next check."
    return await change.run(service.free_machine, lambda _: freed, reason=change.form.get("reason", ""))


@router.post("/licenses/{license_id}/machines/{machine_id}/label")
async def label_machine(change: PostedMachine) -> Response:
    """The customer's own name for a machine, so they can tell which seat to free."""

    def named(label: str | None) -> str:
        return f"Machine named “{label}”." if label else "The machine's name is cleared."

    return await change.run(service.label_machine, named, label=change.form.get("label", ""))


async def _granted(request: Request, token: str, state: AppState) -> tuple[DownloadGrant, Any] | Response:
    """The grant a download link carries and the release it entitles to, or the page refusing it."""
    ttl = dt.timedelta(minutes=state.settings.portal_download_minutes)
    try:
        grant = verify_download(download_secret(state.settings), token, now=state.clock.now(), ttl=ttl)
    except DownloadRefused as exc:
        return render(request, "portal_refused.html", 403, reason=f"{exc}. Open your license page for a fresh link.")
    release = await transactions.read_only(
        state.async_engine,
        service.entitled_release,
        email=grant.email,
        license_id=grant.license_id,
        release_id=grant.release_id,
    )
    return grant, release


async def _ticket(state: AppState, grant: DownloadGrant, release: Any) -> bytes:
    """Mint the installer ticket of this download (tickets/): every download carries its own."""
    customer = {"license_id": grant.license_id, "email": grant.email}
    job = functools.partial(mint_for_customer, release=release, fernet=state.fernet, now=state.clock.now())
    minted = await transactions.in_transaction(state.async_engine, job, **customer)
    return bytes(minted.signed)


@router.get("/download/{token}")
async def download(request: Request, token: str, state: StateDep) -> Response:
    granted = await _granted(request, token, state)
    if isinstance(granted, Response):
        return granted
    grant, release = granted
    try:
        path = stored_file(state.settings.data_dir, release.download_url)
    except DownloadRefused as exc:
        return render(request, "portal_refused.html", 404, reason=str(exc))
    if path is None:  # kept elsewhere: its ticket is the second download beside it (/ticket below)
        return RedirectResponse(release.download_url, status_code=303)
    bundle = await run_in_threadpool(bundle_with_ticket, path, await _ticket(state, grant, release))
    return FileResponse(
        bundle,
        filename=f"{path.stem}.zip",
        headers={"Cache-Control": "no-store"},
        background=BackgroundTask(bundle.unlink, missing_ok=True),
    )


@router.get("/download/{token}/ticket")
async def download_ticket(request: Request, token: str, state: StateDep) -> Response:
    """The installer ticket of a release kept elsewhere, to save beside the installer."""
    granted = await _granted(request, token, state)
    if isinstance(granted, Response):
        return granted
    ticket = await _ticket(state, *granted)
    disposition = f'attachment; filename="{TICKET_FILE}"'
    headers = {"Cache-Control": "no-store", "Content-Disposition": disposition}
    return Response(ticket, media_type="application/json", headers=headers)
