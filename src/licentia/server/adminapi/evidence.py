"""Developer API: risk, evidence and case notes per license key, device or machine; the piracy ratio.

Reading takes a ``read`` token; adding a case note a ``write`` token (audited with the token's name).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

import sqlalchemy as sa
from fastapi import APIRouter, Query
from fastapi.responses import Response

from licentia.server.adminapi.bearer import ReadActor, WriteActor
from licentia.server.adminapi.schemas import NoteIn, NoteOut, PiracyRatioOut
from licentia.server.evidence.answers import ReportFormat, report_response
from licentia.server.evidence.notes import NoteOn, add_note, notes_on
from licentia.server.evidence.risk import assess
from licentia.server.evidence.subjects import device_subject, license_subject
from licentia.server.fields import Slug
from licentia.server.products.service import get_product
from licentia.server.rollups import ratio
from licentia.server.rollups.piracy import ratio_series
from licentia.server.state import AppState, ClockDep, EngineDep, StateDep
from licentia.server.store import transactions

router = APIRouter(prefix="/v1/admin", tags=["evidence"])


async def _report(state: AppState, load: Any, ref: str, fmt: ReportFormat) -> Response:
    now = state.clock.now()

    def build(conn: sa.Connection) -> Response:
        return report_response(conn, load(conn, ref), fmt, now=now, fernet=state.fernet)

    return await transactions.read_only(state.async_engine, build)


@router.get("/licenses/{ref}/risk")
async def license_risk(engine: EngineDep, ref: str, actor: ReadActor) -> dict[str, Any]:
    """Piracy risk of a license (by id or key prefix): a 0-100 score and each factor explained."""
    subject = await transactions.read_only(engine, license_subject, ref=ref)
    return {"subject": subject.label, **assess(subject).as_dict()}


@router.get("/devices/{device_id}/risk")
async def device_risk(engine: EngineDep, device_id: str, actor: ReadActor) -> dict[str, Any]:
    """Piracy risk of one device (installation)."""
    subject = await transactions.read_only(engine, device_subject, device_id=device_id)
    return {"subject": subject.label, **assess(subject).as_dict()}


@router.get("/licenses/{ref}/evidence")
async def license_evidence(
    state: StateDep, ref: str, actor: ReadActor, format: ReportFormat = Query("json")
) -> Response:
    """The evidence report of a license: signed JSON, tab-separated rows (``csv``) or HTML."""
    return await _report(state, lambda conn, r: license_subject(conn, r), ref, format)


@router.get("/devices/{device_id}/evidence")
async def device_evidence(
    state: StateDep, device_id: str, actor: ReadActor, format: ReportFormat = Query("json")
) -> Response:
    """The evidence report of one device."""
    return await _report(state, lambda conn, r: device_subject(conn, r), device_id, format)


# -- case notes -------------------------------------------------------------------------------
# The paths name the subject the way the rest of the API does (a license by id, a device, a machine); a note on an
# unknown one is a 404.
Noted = Literal["licenses", "devices", "machines"]


@router.get("/{noted}/{subject}/notes", response_model=list[NoteOut])
async def case_notes(engine: EngineDep, noted: Noted, subject: str, actor: ReadActor) -> list[dict[str, Any]]:
    """The vendor's case notes on a license (by id), a device (installation) or a machine, oldest first."""
    return await transactions.read_only(engine, notes_on, on=NoteOn(noted[:-1]), subject=subject)


@router.post("/{noted}/{subject}/notes", status_code=201, response_model=NoteOut)
async def add_case_note(
    engine: EngineDep, clock: ClockDep, noted: Noted, subject: str, body: NoteIn, actor: WriteActor
) -> dict[str, Any]:
    """Add a case note to a license, a device or a machine (every installation on it): audited, and carried by
    the evidence report."""
    on = NoteOn(noted[:-1])
    return await transactions.in_transaction(
        engine, add_note, on=on, subject=subject, text=body.text, actor=actor.label, now=clock.now()
    )


# -- the piracy ratio -------------------------------------------------------------------------


@router.get("/products/{slug}/piracy-ratio", response_model=PiracyRatioOut)
async def piracy_ratio(
    engine: EngineDep, clock: ClockDep, slug: Slug, actor: ReadActor, days: int = Query(30, ge=1, le=366)
) -> dict[str, Any]:
    """Unlicensed users and suspected copies per license sold, per day up to today (the dashboard's figures)."""
    today = clock.now().date()

    def read(conn: sa.Connection) -> list[dict[str, Any]]:
        product = get_product(conn, slug)
        return ratio_series(conn, product_id=product.id, first=today - dt.timedelta(days=days - 1), last=today)

    found = await transactions.read_only(engine, read)
    return {"product": slug, "active_days": ratio.ACTIVE_DAYS, "definition": ratio.DEFINITION, "days": found}
