"""Developer API: risk, evidence and case notes per license key, device or machine; the piracy ratio.

Reading takes a ``read`` token; adding a case note a ``write`` token (audited with the token's name).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, Query
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncEngine

from licentia.core.clock import Clock
from licentia.server.adminapi.bearer import ReadActor, WriteActor
from licentia.server.adminapi.schemas import NoteIn, NoteOut, PiracyRatioOut
from licentia.server.evidence.answers import ReportFormat, report_response
from licentia.server.evidence.notes import NoteOn, add_note, notes_on
from licentia.server.evidence.risk import assess
from licentia.server.evidence.subjects import device_subject, license_subject
from licentia.server.fields import RowId, Slug
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
# The paths name the subject the way the rest of the API does; a note on an unknown one is a 404.


async def _notes(engine: AsyncEngine, on: NoteOn, subject: str | int) -> list[dict[str, Any]]:
    return await transactions.read_only(engine, notes_on, on=on, subject=subject)


async def _add(
    engine: AsyncEngine, clock: Clock, on: NoteOn, subject: str | int, body: NoteIn, actor: str
) -> dict[str, Any]:
    return await transactions.in_transaction(
        engine, add_note, on=on, subject=subject, text=body.text, actor=actor, now=clock.now()
    )


@router.get("/licenses/{license_id}/notes", response_model=list[NoteOut])
async def license_notes(engine: EngineDep, license_id: RowId, actor: ReadActor) -> list[dict[str, Any]]:
    """The vendor's case notes on a license, oldest first."""
    return await _notes(engine, NoteOn.LICENSE, license_id)


@router.post("/licenses/{license_id}/notes", status_code=201, response_model=NoteOut)
async def note_on_license(
    engine: EngineDep, clock: ClockDep, license_id: RowId, body: NoteIn, actor: WriteActor
) -> dict[str, Any]:
    """Add a case note to a license (audited; carried by its evidence report)."""
    return await _add(engine, clock, NoteOn.LICENSE, license_id, body, actor.label)


@router.get("/devices/{device_id}/notes", response_model=list[NoteOut])
async def device_notes(engine: EngineDep, device_id: str, actor: ReadActor) -> list[dict[str, Any]]:
    """The vendor's case notes on one device (installation), oldest first."""
    return await _notes(engine, NoteOn.DEVICE, device_id)


@router.post("/devices/{device_id}/notes", status_code=201, response_model=NoteOut)
async def note_on_device(
    engine: EngineDep, clock: ClockDep, device_id: str, body: NoteIn, actor: WriteActor
) -> dict[str, Any]:
    """Add a case note to a device (installation)."""
    return await _add(engine, clock, NoteOn.DEVICE, device_id, body, actor.label)


@router.get("/machines/{machine_id}/notes", response_model=list[NoteOut])
async def machine_notes(engine: EngineDep, machine_id: str, actor: ReadActor) -> list[dict[str, Any]]:
    """The vendor's case notes on a machine (a device's ``machine``), oldest first."""
    return await _notes(engine, NoteOn.MACHINE, machine_id)


@router.post("/machines/{machine_id}/notes", status_code=201, response_model=NoteOut)
async def note_on_machine(
    engine: EngineDep, clock: ClockDep, machine_id: str, body: NoteIn, actor: WriteActor
) -> dict[str, Any]:
    """Add a case note to a machine: it is about every installation on it."""
    return await _add(engine, clock, NoteOn.MACHINE, machine_id, body, actor.label)


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
