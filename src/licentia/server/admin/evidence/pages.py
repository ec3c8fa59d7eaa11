"""Piracy triage in the admin UI: the riskiest licenses and installations, evidence reports, case notes.

The reports are the developer API's documents (signed JSON, tab-separated rows)
served to the signed-in admin; the page form is the same report inside the
admin UI's own layout. Case notes are added from the license and device pages
(their routes are here, listed before the license pages' ``/licenses/{id}/{action}``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal

import sqlalchemy as sa
from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from markupsafe import Markup

from licentia.server.admin.web import Admin, Posted, read_or_404, render
from licentia.server.evidence.answers import report_response
from licentia.server.evidence.notes import NoteOn, add_note, note_from_device
from licentia.server.evidence.report import html
from licentia.server.evidence.subjects import Subject
from licentia.server.evidence.triage import flagged
from licentia.server.fields import RowId
from licentia.server.state import AppState, EngineDep
from licentia.server.store import transactions
from licentia.server.web.frame import SECURITY_HEADERS

router = APIRouter()
ReportFormat = Literal["html", "json", "csv"]


async def admin_report(
    request: Request, state: AppState, load: Callable[[sa.Connection], Subject], fmt: ReportFormat
) -> Response:
    at = state.clock.now()

    def build(conn: sa.Connection) -> tuple[Subject, Response | None]:
        subject = load(conn)
        return subject, None if fmt == "html" else report_response(conn, subject, fmt, now=at, fernet=state.fernet)

    subject, response = await read_or_404(state.async_engine, build)
    if response is None:
        # Every fact in it is attacker-controlled text: the report's own environment autoescapes it.
        body = Markup(html(subject, now=at, body_only=True, device_href="/admin/devices/"))  # noqa: S704
        back = (
            f"/admin/licenses/{subject.license.id}"
            if subject.kind == "license" and subject.license
            else (f"/admin/devices/{subject.devices[0].id}")
        )
        return render(request, "evidence.html", report=body, subject=subject, back_to=back, section="evidence")
    response.headers.update(SECURITY_HEADERS)
    return response


# Rows a page of the risk list shows; the list scores at most RISK_LIMIT subjects (the riskiest first).
RISK_PAGE, RISK_LIMIT = 50, 1000


@router.get("/risk")
async def risk_page(
    request: Request, engine: EngineDep, admin: Admin, page: Annotated[int, Query(ge=1, le=RISK_LIMIT)] = 1
) -> Response:
    rows: list[Any] = await transactions.read_only(engine, flagged, limit=RISK_LIMIT)
    shown = rows[(page - 1) * RISK_PAGE : page * RISK_PAGE]
    return render(
        request,
        "risk.html",
        rows=shown,
        total=len(rows),
        first=(page - 1) * RISK_PAGE + 1,
        page=page,
        has_next=page * RISK_PAGE < len(rows),
        section="risk",
    )


@router.post("/licenses/{license_id}/notes")
async def note_on_license(posted: Posted, license_id: RowId) -> Response:
    back_to = f"/admin/licenses/{license_id}"
    text = posted.form.get("text", "")
    return await posted.run(
        add_note, success="Note added.", back_to=back_to, on=NoteOn.LICENSE, subject=license_id, text=text
    )


@router.post("/devices/{device_id}/notes")
async def note_on_device(posted: Posted, device_id: str) -> Response:
    on = posted.form.get("on") or NoteOn.DEVICE
    done = "Note added to the machine." if on == NoteOn.MACHINE else "Note added."
    text = posted.form.get("text", "")
    return await posted.run(
        note_from_device, success=done, back_to=f"/admin/devices/{device_id}", device_id=device_id, on=on, text=text
    )
