"""The audit log page (``/admin/audit``): who changed what, when, as sentences; filtered, paged, exported."""

from __future__ import annotations

import json
from typing import Annotated

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response, StreamingResponse

from licentia.server.admin.audit import sentences as audit_log
from licentia.server.admin.lists.listing import csv_export
from licentia.server.admin.lists.pages import page_of
from licentia.server.admin.web import Admin, render
from licentia.server.state import EngineDep
from licentia.server.store import transactions

router = APIRouter()


def audit_filter(request: Request, q: str = "", action: str = "", actor: str = "") -> audit_log.AuditFilter:
    """The audit log's filter ("from" and "to" are dates; both names are Python words, so read directly)."""
    query = request.query_params
    since, until = audit_log.day_or_none(query.get("from", "")), audit_log.day_or_none(query.get("to", ""))
    return audit_log.AuditFilter(q=q, action=action, actor=actor, since=since, until=until)


AuditQuery = Annotated[audit_log.AuditFilter, Depends(audit_filter)]


@router.get("/audit")
async def audit(request: Request, engine: EngineDep, admin: Admin, found: AuditQuery) -> Response:
    page = await page_of(request, engine, audit_log.audit_spec(found), path="/admin/audit", params=found.params())

    def named(conn: sa.Connection) -> tuple[audit_log.Names, dict[str, list[str]]]:
        return audit_log.names_for(conn, page.rows), audit_log.choices(conn)

    names, menus = await transactions.read_only(engine, named)
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
async def audit_csv(engine: EngineDep, admin: Admin, found: AuditQuery) -> StreamingResponse:
    return csv_export(
        engine,
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
