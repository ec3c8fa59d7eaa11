"""The developer API's user seats: the people named on a user license; name, free and move them (audited)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from licentia.server.adminapi.bearer import ReadActor, WriteActor
from licentia.server.adminapi.router import ERRORS
from licentia.server.fields import Email, RowId
from licentia.server.state import ClockDep, EngineDep
from licentia.server.store import transactions
from licentia.server.users import service

router = APIRouter(prefix="/v1/admin", tags=["developer API: user seats"])
SEAT_ERRORS = {
    **ERRORS,
    409: {"description": "`not_user_license`, `no_user_seat`: the license's seats are machines, or all are taken"},
    404: {"description": "`unknown_license`, or `unknown_user`: the person is not named on the license"},
}


class LicenseUserOut(BaseModel):
    email: str
    assigned_at: dt.datetime
    assigned_by: str
    seated_at: dt.datetime | None = Field(description="When they took a seat; null: named, no seat taken yet.")
    last_active_at: dt.datetime | None = Field(description="Their last day of use (or sign-in).")
    machines: list[str] = Field(description="The machines (ids) where they are signed in.")


class LicenseUsers(BaseModel):
    license_id: int
    users: list[LicenseUserOut]


class AssignBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: Email
    seat: bool = Field(default=True, description="false: the seat is taken at their first sign-in, if one is free.")


class FreeBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: Email
    reason: str | None = Field(default=None, max_length=500)


class ReassignBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: Email = Field(description="Who holds the seat now.")
    to: Email = Field(description="Who gets it.")


def _users(conn: Any, *, license_id: int) -> dict[str, Any]:
    return {"license_id": license_id, "users": service.list_users(conn, license_id=license_id)}


def _then_list(change: Any) -> Any:
    def job(conn: Any, *, license_id: int, **kwargs: Any) -> dict[str, Any]:
        change(conn, license_id=license_id, **kwargs)
        return _users(conn, license_id=license_id)

    return job


@router.get("/licenses/{license_id}/users", response_model=LicenseUsers, responses=SEAT_ERRORS)
async def users_of_license(engine: EngineDep, license_id: RowId, actor: ReadActor) -> dict[str, Any]:
    """The people named on a license whose seats are users, with their seats and machines."""
    return await transactions.read_only(engine, _users, license_id=license_id)


@router.post("/licenses/{license_id}/users", response_model=LicenseUsers, responses=SEAT_ERRORS)
async def assign_user(
    engine: EngineDep, clock: ClockDep, license_id: RowId, body: AssignBody, actor: WriteActor
) -> dict[str, Any]:
    """Name a person on the license, with a seat now (``seat``) or at their first sign-in. Idempotent."""
    job = _then_list(service.assign_user)
    return await transactions.in_transaction(
        engine, job, license_id=license_id, email=body.email, seat=body.seat, actor=actor.label, now=clock.now()
    )


@router.post("/licenses/{license_id}/users/free", response_model=LicenseUsers, responses=SEAT_ERRORS)
async def free_user(
    engine: EngineDep, clock: ClockDep, license_id: RowId, body: FreeBody, actor: WriteActor
) -> dict[str, Any]:
    """Free a person's seat: the installations they signed in on leave the license at their next check."""
    job = _then_list(service.free_user)
    return await transactions.in_transaction(
        engine, job, license_id=license_id, email=body.email, reason=body.reason, actor=actor.label, now=clock.now()
    )


@router.post("/licenses/{license_id}/users/reassign", response_model=LicenseUsers, responses=SEAT_ERRORS)
async def reassign_user(
    engine: EngineDep, clock: ClockDep, license_id: RowId, body: ReassignBody, actor: WriteActor
) -> dict[str, Any]:
    """Give a person's seat to another person in one change (their installations leave the license)."""
    job = _then_list(service.reassign_user)
    return await transactions.in_transaction(
        engine, job, license_id=license_id, email=body.email, to=body.to, actor=actor.label, now=clock.now()
    )
