"""The list pages (devices, licenses, customers, releases): counts, pages, sorting, and CSV exports."""

from __future__ import annotations

from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response, StreamingResponse
from sqlalchemy.ext.asyncio import AsyncEngine

from licentia.core.status import LicenseState
from licentia.server.admin.catalog.policies import policies_of
from licentia.server.admin.lists import specs as lists
from licentia.server.admin.lists.listing import Listing, ListSpec, csv_export, listing
from licentia.server.admin.service import all_products
from licentia.server.admin.web import Admin, render
from licentia.server.devices.changes import STATUSES
from licentia.server.fields import RowId
from licentia.server.state import AppState, ClockDep, EngineDep, StateDep
from licentia.server.store import transactions

router = APIRouter()
STATES = tuple(s.value for s in LicenseState)


async def page_of(
    request: Request, engine: AsyncEngine, spec: ListSpec, *, path: str, params: dict[str, str]
) -> Listing:
    query = request.query_params

    def load(conn: sa.Connection) -> Listing:
        return listing(
            conn,
            spec,
            path=path,
            params=params,
            sort=query.get("sort", ""),
            direction=query.get("dir", ""),
            page=query.get("page"),
        )

    return await transactions.read_only(engine, load)


def device_filter(
    q: str = "", status: str = "", flag: str = "", product: RowId | None = None, seen: str = "", trial_ends: str = ""
) -> lists.DeviceFilter:
    """The device list's filter from its query string (the page and its export read the same one)."""
    return lists.DeviceFilter(
        q=q,
        status=status if status in STATUSES else "",
        flag=flag if flag in lists.FLAGS else "",
        product=product,
        seen_days=lists.within(seen),
        trial_ends_days=lists.within(trial_ends),
    )


def license_filter(
    q: str = "",
    state: str = "",
    product: RowId | None = None,
    expires: str = "",
    full: str = "",
    customer: RowId | None = None,
) -> lists.LicenseFilter:
    return lists.LicenseFilter(
        q=q,
        state=state if state in STATES else "",
        product=product,
        expires_days=lists.within(expires),
        full=full == "1",
        customer=customer,
    )


DeviceQuery = Annotated[lists.DeviceFilter, Depends(device_filter)]
LicenseQuery = Annotated[lists.LicenseFilter, Depends(license_filter)]


@router.get("/devices")
async def devices_page(
    request: Request, engine: EngineDep, clock: ClockDep, admin: Admin, found: DeviceQuery
) -> Response:
    spec = lists.device_spec(found, now=clock.now())
    page = await page_of(request, engine, spec, path="/admin/devices", params=found.params())
    # HTMX live search swaps only the results; without JavaScript the whole page reloads.
    template = "devices_results.html" if request.headers.get("hx-request") else "devices.html"
    return render(
        request,
        template,
        listing=page,
        filter=found,
        statuses=STATUSES,
        flags=lists.FLAGS,
        within=lists.WITHIN_DAYS,
        products=await transactions.read_only(engine, all_products),
    )


@router.get("/devices.csv")
async def devices_csv(engine: EngineDep, clock: ClockDep, admin: Admin, found: DeviceQuery) -> StreamingResponse:
    return csv_export(
        engine,
        lambda: lists.device_spec(found, now=clock.now()),
        filename="devices.csv",
        header=lists.DEVICE_CSV,
        row_of=lists.device_csv_row,
    )


async def license_list(request: Request, state: AppState, *, found: lists.LicenseFilter, **context: Any) -> Response:
    """The licenses page: the issue form (``sent`` fills it) above the list."""
    spec = lists.license_spec(found, now=state.clock.now())
    page = await page_of(request, state.async_engine, spec, path="/admin/licenses", params=found.params())
    products = await transactions.read_only(state.async_engine, all_products)
    types = {p.slug: await transactions.read_only(state.async_engine, policies_of, product_id=p.id) for p in products}
    context.setdefault("sent", {})
    # The issue form warns when its key email would wait because SMTP is not set up.
    context.setdefault("smtp_configured", bool(state.settings.smtp_host))
    return render(
        request,
        "licenses.html",
        context.pop("http_status", 200),
        listing=page,
        filter=found,
        states=STATES,
        within=lists.WITHIN_DAYS,
        products=products,
        types=types,
        **context,
    )


@router.get("/licenses")
async def licenses_page(
    request: Request, state: StateDep, admin: Admin, found: LicenseQuery, email: str = "", name: str = ""
) -> Response:
    # "Issue another license" from a customer's page opens the form filled with the customer.
    sent = {"email": email, "name": name, "send_email": "on"} if email else {}
    return await license_list(request, state, found=found, sent=sent)


@router.get("/licenses.csv")
async def licenses_csv(engine: EngineDep, clock: ClockDep, admin: Admin, found: LicenseQuery) -> StreamingResponse:
    return csv_export(
        engine,
        lambda: lists.license_spec(found, now=clock.now()),
        filename="licenses.csv",
        header=lists.LICENSE_CSV,
        row_of=lists.license_csv_row,
    )


@router.get("/customers")
async def customers_page(request: Request, engine: EngineDep, admin: Admin, q: str = "") -> Response:
    page = await page_of(request, engine, lists.customer_spec(q), path="/admin/customers", params={"q": q})
    return render(request, "customers.html", listing=page, q=q)


@router.get("/customers.csv")
async def customers_csv(engine: EngineDep, admin: Admin, q: str = "") -> StreamingResponse:
    return csv_export(
        engine,
        lambda: lists.customer_spec(q),
        filename="customers.csv",
        header=lists.CUSTOMER_CSV,
        row_of=lists.customer_csv_row,
    )


@router.get("/releases.csv")
async def releases_csv(
    engine: EngineDep, admin: Admin, product: RowId | None = None, channel: str = ""
) -> StreamingResponse:
    return csv_export(
        engine,
        lambda: lists.release_spec(product, channel),
        filename="releases.csv",
        header=lists.RELEASE_CSV,
        row_of=lists.release_csv_row,
    )
