"""The developer API under ``/v1/admin``: bearer tokens, ``read`` to look, ``write`` to change.

Every change is audited with the token's name as the actor.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncEngine

from licentia.core.clock import Clock
from licentia.server.adminapi.bearer import ReadActor, WriteActor
from licentia.server.adminapi.schemas import (
    ActionReason,
    DeviceOut,
    EventPage,
    IssuedLicenseOut,
    LicenseCreate,
    LicenseOut,
    LicensePatch,
    Renewal,
    StatusChange,
    TransferGrant,
    TrialExtension,
)
from licentia.server.devices.changes import extend_trial, free_seat, get_device, set_device_status
from licentia.server.devices.transfers import grant_transfers, reset_transfers
from licentia.server.errors import ApiError, ErrorCode
from licentia.server.events.export import as_csv, event_page
from licentia.server.fields import RowId
from licentia.server.licenses.changes import change_state, issue_and_email, renew, set_max_devices
from licentia.server.licenses.views import license_devices, license_view
from licentia.server.releases.changes import publish_release
from licentia.server.releases.schemas import ReleaseCreate
from licentia.server.state import ClockDep, EngineDep, FernetDep
from licentia.server.store import transactions

router = APIRouter(prefix="/v1/admin", tags=["developer API"])
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "`missing_token` or `invalid_token` (unknown, wrong or revoked)"},
    403: {"description": "`insufficient_scope`: this call needs a `write` token"},
    404: {"description": "`unknown_license`, `unknown_device` or `unknown_product`"},
    409: {"description": "`order_ref_in_use`, `license_revoked`: the change conflicts with what is stored"},
}


@router.post("/licenses", status_code=201, response_model=IssuedLicenseOut, responses=ERRORS)
async def create_license(
    engine: EngineDep, clock: ClockDep, fernet: FernetDep, body: LicenseCreate, actor: WriteActor
) -> dict[str, Any]:
    """Create a license for a purchase (customer found or created by email) and email the key."""

    def issue(conn: Any, *, now: dt.datetime) -> dict[str, Any]:
        issued = issue_and_email(conn, body, fernet=fernet, actor=actor.label, now=now)
        return {**license_view(conn, issued.id, seats_at=now), "key": issued.key}

    return await transactions.in_transaction(engine, issue, now=clock.now())


@router.get("/licenses/{license_id}", response_model=LicenseOut, responses=ERRORS)
async def get_license(engine: EngineDep, clock: ClockDep, license_id: RowId, actor: ReadActor) -> dict[str, Any]:
    """A license with its customer, seat use and transfers."""
    return await transactions.read_only(engine, license_view, license_id=license_id, seats_at=clock.now())


async def _license_change(
    engine: AsyncEngine, clock: Clock, license_id: RowId, fn: Any, **kwargs: Any
) -> dict[str, Any]:
    """``fn`` (one of the license's changes) in a transaction; the license as it is after."""

    def change(conn: Any, *, now: dt.datetime) -> dict[str, Any]:
        fn(conn, license_id=license_id, now=now, **kwargs)
        return license_view(conn, license_id, seats_at=now)

    return await transactions.in_transaction(engine, change, now=clock.now())


@router.post("/licenses/{license_id}/suspend", response_model=LicenseOut, responses=ERRORS)
async def suspend_license(engine: EngineDep, clock: ClockDep, license_id: RowId, actor: WriteActor) -> dict[str, Any]:
    """Suspend: its devices answer `suspended` at their next check, until reinstated."""
    return await _license_change(engine, clock, license_id, change_state, actor=actor.label, action="suspend")


@router.post("/licenses/{license_id}/reinstate", response_model=LicenseOut, responses=ERRORS)
async def reinstate_license(engine: EngineDep, clock: ClockDep, license_id: RowId, actor: WriteActor) -> dict[str, Any]:
    """Reinstate a suspended license."""
    return await _license_change(engine, clock, license_id, change_state, actor=actor.label, action="reinstate")


@router.post("/licenses/{license_id}/revoke", response_model=LicenseOut, responses=ERRORS)
async def revoke_license(
    engine: EngineDep, clock: ClockDep, license_id: RowId, actor: WriteActor, body: ActionReason | None = None
) -> dict[str, Any]:
    """Revoke for good (refund, leak): every seat is freed and the key never activates again.

    An optional `reason` is kept in the audit log."""
    return await _license_change(
        engine,
        clock,
        license_id,
        change_state,
        actor=actor.label,
        action="revoke",
        reason=body.reason if body else None,
    )


@router.post("/licenses/{license_id}/renew", response_model=LicenseOut, responses=ERRORS)
async def renew_license(
    engine: EngineDep, clock: ClockDep, license_id: RowId, body: Renewal, actor: WriteActor
) -> dict[str, Any]:
    """Set a new expiry (`expires_at`) or extend it by `days` (from the later of now and the old expiry)."""
    if (body.expires_at is None) == (body.days is None):
        raise ApiError(ErrorCode.INVALID_RENEWAL, "send exactly one of expires_at and days")
    return await _license_change(
        engine, clock, license_id, renew, actor=actor.label, expires_at=body.expires_at, days=body.days
    )


@router.patch("/licenses/{license_id}", response_model=LicenseOut, responses=ERRORS)
async def patch_license(
    engine: EngineDep, clock: ClockDep, license_id: RowId, body: LicensePatch, actor: WriteActor
) -> dict[str, Any]:
    """Change the device limit of one license."""
    return await _license_change(
        engine, clock, license_id, set_max_devices, actor=actor.label, max_devices=body.max_devices
    )


@router.post("/licenses/{license_id}/grant-transfers", response_model=LicenseOut, responses=ERRORS)
async def grant_license_transfers(
    engine: EngineDep, clock: ClockDep, license_id: RowId, body: TransferGrant, actor: WriteActor
) -> dict[str, Any]:
    """Allow `transfers` more moves to another machine beyond the license type's limit (audited).

    Each is used once, when a move past the limit needs it; they do not expire."""
    return await _license_change(
        engine, clock, license_id, grant_transfers, actor=actor.label, transfers=body.transfers, reason=body.reason
    )


@router.post("/licenses/{license_id}/reset-transfers", response_model=LicenseOut, responses=ERRORS)
async def reset_license_transfers(
    engine: EngineDep, clock: ClockDep, license_id: RowId, actor: WriteActor, body: ActionReason | None = None
) -> dict[str, Any]:
    """Forgive the transfers counted in the current period: the license has its type's whole allowance again.

    An optional `reason` is kept in the audit log."""
    return await _license_change(
        engine, clock, license_id, reset_transfers, actor=actor.label, reason=body.reason if body else None
    )


@router.get("/licenses/{license_id}/devices", response_model=list[DeviceOut], responses=ERRORS)
async def devices_of_license(engine: EngineDep, license_id: RowId, actor: ReadActor) -> list[DeviceOut]:
    """The devices holding a seat of this license, most recently seen first."""
    return [DeviceOut.of(row) for row in await transactions.read_only(engine, license_devices, license_id=license_id)]


@router.get("/devices/{device_id}", response_model=DeviceOut, responses=ERRORS)
async def device(engine: EngineDep, device_id: str, actor: ReadActor) -> DeviceOut:
    return DeviceOut.of(await transactions.read_only(engine, get_device, device_id=device_id))


async def _device_change(engine: AsyncEngine, clock: Clock, device_id: str, fn: Any, **kwargs: Any) -> DeviceOut:
    def change(conn: Any, *, now: dt.datetime) -> Any:
        fn(conn, device_id=device_id, now=now, **kwargs)
        return get_device(conn, device_id)

    return DeviceOut.of(await transactions.in_transaction(engine, change, now=clock.now()))


@router.post("/devices/{device_id}/status", response_model=DeviceOut, responses=ERRORS)
async def change_device_status(
    engine: EngineDep, clock: ClockDep, device_id: str, body: StatusChange, actor: WriteActor
) -> DeviceOut:
    """Set a device's status (e.g. `blocked`); the device learns it at its next check."""
    return await _device_change(
        engine, clock, device_id, set_device_status, status=body.status, reason=body.reason, actor=actor.label
    )


@router.post("/devices/{device_id}/extend-trial", response_model=DeviceOut, responses=ERRORS)
async def extend_device_trial(
    engine: EngineDep, clock: ClockDep, device_id: str, body: TrialExtension, actor: WriteActor
) -> DeviceOut:
    """Push the trial end `days` further; an expired trial reopens."""
    return await _device_change(engine, clock, device_id, extend_trial, days=body.days, actor=actor.label)


@router.post("/devices/{device_id}/free-seat", response_model=DeviceOut, responses=ERRORS)
async def free_device_seat(
    engine: EngineDep, clock: ClockDep, device_id: str, actor: WriteActor, body: ActionReason | None = None
) -> DeviceOut:
    """Unbind the device from its license (the seat becomes free); an optional `reason` is kept in the audit log."""
    return await _device_change(
        engine, clock, device_id, free_seat, actor=actor.label, reason=body.reason if body else None
    )


@router.get("/events", response_model=EventPage, responses={200: {"content": {"text/csv": {}}}, **ERRORS})
async def list_events(
    engine: EngineDep,
    actor: ReadActor,
    product: str | None = None,
    kind: str | None = None,
    device_id: str | None = None,
    license_id: RowId | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    format: Literal["json", "csv"] = "json",
) -> Any:
    """Events oldest first, `limit` per page; follow `next_cursor` (JSON) or the `Licentia-Next-Cursor` header (CSV)."""
    rows, next_cursor = await transactions.read_only(
        engine,
        event_page,
        product=product,
        kind=kind,
        device_id=device_id,
        license_id=license_id,
        since=since,
        until=until,
        cursor=cursor,
        limit=limit,
    )
    if format == "csv":
        headers = {"Content-Disposition": 'attachment; filename="events.csv"'}
        if next_cursor:
            headers["Licentia-Next-Cursor"] = next_cursor
        return Response(as_csv(rows), media_type="text/csv; charset=utf-8", headers=headers)
    return {"events": rows, "next_cursor": next_cursor}


@router.post("/releases", status_code=201, responses=ERRORS)
async def create_release(engine: EngineDep, clock: ClockDep, body: ReleaseCreate, actor: WriteActor) -> dict[str, Any]:
    """Publish a version on a channel; clients see it as `latest_release` within seconds."""
    # The body's fields are the service's arguments, one for one.
    release_id = await transactions.in_transaction(
        engine, publish_release, **body.model_dump(), actor=actor.label, now=clock.now()
    )
    return {"id": release_id, "product": body.product, "version": body.version, "channel": body.channel}
