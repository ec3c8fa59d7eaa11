"""Developer API: risk and evidence per license key or device (read-scoped bearer tokens)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, Query
from fastapi.responses import Response

from licentia.server.adminapi.bearer import ReadActor
from licentia.server.evidence.answers import ReportFormat, report_response
from licentia.server.evidence.risk import assess
from licentia.server.evidence.subjects import device_subject, license_subject
from licentia.server.state import AppState, EngineDep, StateDep
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
