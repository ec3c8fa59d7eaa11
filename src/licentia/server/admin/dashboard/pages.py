"""The dashboard (/admin): its figures, work queues and the first-run checklist."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, Request
from fastapi.responses import Response

from licentia.server.admin.dashboard.figures import PERIODS, dashboard
from licentia.server.admin.dashboard.queues import EXTEND_DAYS, first_run, work_queues
from licentia.server.admin.service import all_products, product_by_id
from licentia.server.admin.web import Admin, Form, Posted, render
from licentia.server.bootstrap import snippets
from licentia.server.devices.changes import extend_trial
from licentia.server.fields import RowId
from licentia.server.products.service import public_keys
from licentia.server.rollups.headline import statuses
from licentia.server.state import ClockDep, EngineDep
from licentia.server.store import transactions

router = APIRouter()
DEFAULT_PERIOD = 30


@router.get("/")
@router.get("", include_in_schema=False)
async def home(
    request: Request,
    engine: EngineDep,
    clock: ClockDep,
    admin: Admin,
    product: RowId | None = None,
    days: int = DEFAULT_PERIOD,
) -> Response:
    days = days if days in PERIODS else DEFAULT_PERIOD
    moment = clock.now()

    def load(conn: sa.Connection) -> dict[str, Any]:
        chosen = product_by_id(conn, product)
        if chosen is None:
            return {"products": [], "product": None}
        steps = first_run(conn, product_id=chosen.id)
        found: dict[str, Any] = {"products": all_products(conn), "product": chosen, "steps": steps}
        if not steps["checked_in"]:
            # First run: a checklist, not nine empty charts.
            keys = public_keys(conn, product_id=chosen.id)
            return {**found, "public_key": keys[-1] if keys else ""}
        return {
            **found,
            # The minute's count by status with the installations first seen since (rollups/headline.py).
            "counts": statuses(conn, product_id=chosen.id, today=moment.date()),
            "board": dashboard(conn, product_id=chosen.id, today=moment.date(), days=days),
            "queues": work_queues(conn, product_id=chosen.id, now=moment),
        }

    loaded = await transactions.read_only(engine, load)
    base = str(request.base_url).rstrip("/")
    if "public_key" in loaded:  # the first run: the five lines, in every client's language
        loaded["snippets"] = snippets(base, loaded["product"].slug, loaded["public_key"])
    return render(request, "dashboard.html", periods=PERIODS, days=days, server_url=base, **loaded)


@router.post("/queues/extend-trial")
async def extend_from_queue(admin: Admin, form: Form, posted: Posted) -> Response:
    """One-click extend from the dashboard's "trials ending" queue: the machine's trial, as on the device page."""
    device_id = form.get("device", "")
    back_to = "/admin" + (f"?product={form['product']}" if form.get("product", "").isdigit() else "")
    return await posted.run(
        extend_trial,
        success=f"Trial extended by {EXTEND_DAYS} days.",
        back_to=back_to,
        device_id=device_id,
        days=EXTEND_DAYS,
    )
