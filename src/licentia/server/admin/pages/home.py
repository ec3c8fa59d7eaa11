"""The dashboard (with its work queues and the first-run checklist) and the audit log."""

from __future__ import annotations

import json
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response, StreamingResponse

from licentia.server.admin import audit_log
from licentia.server.admin.dashboard import PERIODS, dashboard
from licentia.server.admin.listing import csv_export
from licentia.server.admin.pages.lists import page_of
from licentia.server.admin.queues import EXTEND_DAYS, first_run, work_queues
from licentia.server.admin.service import all_products, counts, product_by_id
from licentia.server.admin.web import Admin, Form, act, now, render
from licentia.server.adminapi.schemas import RowId
from licentia.server.devices.changes import extend_trial
from licentia.server.products.service import public_keys
from licentia.server.state import read_only

router = APIRouter()
DEFAULT_PERIOD = 30


@router.get("/")
async def home(request: Request, admin: Admin, product: RowId | None = None, days: int = DEFAULT_PERIOD) -> Response:
    days = days if days in PERIODS else DEFAULT_PERIOD
    moment = now(request)

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
            "counts": counts(conn, chosen.id, moment),
            "board": dashboard(conn, product_id=chosen.id, today=moment.date(), days=days),
            "queues": work_queues(conn, product_id=chosen.id, now=moment),
        }

    loaded = await read_only(request, load)
    return render(
        request, "dashboard.html", periods=PERIODS, days=days, server_url=str(request.base_url).rstrip("/"), **loaded
    )


@router.post("/queues/extend-trial")
async def extend_from_queue(request: Request, admin: Admin, form: Form) -> Response:
    """One-click extend from the dashboard's "trials ending" queue: the machine's trial, as on the device page."""
    device_id = form.get("device", "")
    back_to = "/admin" + (f"?product={form['product']}" if form.get("product", "").isdigit() else "")
    return await act(
        request,
        extend_trial,
        success=f"Trial extended by {EXTEND_DAYS} days.",
        back_to=back_to,
        device_id=device_id,
        days=EXTEND_DAYS,
        actor=admin.label,
    )


def audit_filter(request: Request, q: str = "", action: str = "", actor: str = "") -> audit_log.AuditFilter:
    """The audit log's filter ("from" and "to" are dates; both names are Python words, so read directly)."""
    query = request.query_params
    since, until = audit_log.day_or_none(query.get("from", "")), audit_log.day_or_none(query.get("to", ""))
    return audit_log.AuditFilter(q=q, action=action, actor=actor, since=since, until=until)


AuditQuery = Annotated[audit_log.AuditFilter, Depends(audit_filter)]


@router.get("/audit")
async def audit(request: Request, admin: Admin, found: AuditQuery) -> Response:
    page = await page_of(request, audit_log.audit_spec(found), path="/admin/audit", params=found.params())

    def named(conn: sa.Connection) -> tuple[audit_log.Names, dict[str, list[str]]]:
        return audit_log.names_for(conn, page.rows), audit_log.choices(conn)

    names, menus = await read_only(request, named)
    sentences = [audit_log.sentence(e, names) for e in page.rows]
    return render(
        request,
        "audit.html",
        listing=page,
        filter=found,
        sentences=sentences,
        actions=menus["actions"],
        actors=menus["actors"],
    )


@router.get("/audit.csv")
async def audit_csv(request: Request, admin: Admin, found: AuditQuery) -> StreamingResponse:
    return csv_export(
        request,
        lambda: audit_log.audit_spec(found),
        filename="audit.csv",
        header=("id", "at", "actor", "action", "target_type", "target_id", "sentence", "details"),
        context_of=audit_log.names_for,
        row_of=lambda e, names: (
            e.id,
            e.at,
            e.actor,
            e.action,
            e.target_type,
            e.target_id,
            audit_log.plain(audit_log.sentence(e, names)),
            json.dumps(e.details or {}, sort_keys=True),
        ),
    )
