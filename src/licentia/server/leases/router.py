"""The public API of floating licenses: ``POST /v1/leases`` (check out or borrow), heartbeat, release.

Each call carries the installation's credential (``Authorization: Device
ID:SECRET``); a lease is its installation's alone. Answers carry the signed
lease document, signed after the job's transaction committed.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from licentia.server.credentials import DeviceCredential
from licentia.server.devices.schemas import Nonce, Slug
from licentia.server.events.facts import server_facts
from licentia.server.leases import service
from licentia.server.state import StateDep

router = APIRouter(prefix="/v1/leases", tags=["floating leases"])
LeaseId = Annotated[str, Path(pattern=r"^ls_[0-9a-f]{24}$")]

_SIGNED_LEASE = {
    "description": "The lease id and the signed lease document (docs/web-api.md, floating licenses).",
    "content": {
        "application/json": {
            "example": {
                "lease": "ls_4f1c...",
                "signed": {"document": {"type": "floating_lease", "expires_at": "...", "...": "..."}, "kid": "..."},
            }
        }
    },
}


class CheckoutBody(BaseModel):
    """Check out a floating seat for this installation's machine (or renew this installation's lease)."""

    model_config = ConfigDict(extra="ignore")

    product: Slug
    key: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    borrow_days: int | None = Field(
        default=None, ge=1, le=365, description="Borrow the seat for offline use for this many days."
    )
    nonce: Nonce | None = Field(default=None, description="A fresh random value; the signed lease carries it back.")


class HeartbeatBody(BaseModel):
    """Optional: a heartbeat without a body keeps working (its answer then carries no nonce)."""

    model_config = ConfigDict(extra="ignore")

    nonce: Nonce | None = Field(default=None, description="A fresh random value; the signed lease carries it back.")


class LeaseOut(BaseModel):
    id: str
    state: str
    license_id: int
    machine_id: str
    device_id: str
    created_at: dt.datetime
    heartbeat_at: dt.datetime
    expires_at: dt.datetime
    borrowed_until: dt.datetime | None
    ended_at: dt.datetime | None
    end_reason: str | None


def _signed(answer: service.LeaseAnswer, nonce: str | None) -> Response:
    if answer.error is not None:
        raise answer.error
    if answer.document is None or answer.signer is None:
        raise RuntimeError("a lease answer without an error carries a document and its signer")
    if nonce is not None:  # the answer to this request, and to no other
        answer.document["nonce"] = nonce
    signed = answer.signer.sign(answer.document, answer.endorsements)
    body = b'{"lease":"' + str(answer.document["lease"]).encode() + b'","signed":' + signed + b"}"
    return Response(body, media_type="application/json")


@router.post("", responses={200: _SIGNED_LEASE})
async def checkout(request: Request, state: StateDep, body: CheckoutBody, credential: DeviceCredential) -> Response:
    """Check out a seat of a floating license (``borrow_days``: borrow it for offline use).

    Answers ``no_seat_available`` (409, ``Retry-After``) while every seat is
    leased by other machines. A second installation on a machine that holds a
    seat gets its own lease on the same seat.
    """
    now = state.clock.now()
    req = service.CheckoutRequest(
        product=body.product,
        key=body.key,
        credential=credential,
        now=now,
        borrow_days=body.borrow_days,
        server_facts=server_facts(request, now=now, trusted_proxies=state.trusted_proxies),
        attempts_per_hour=state.settings.activation_attempts_per_hour,
        cache_seconds=state.settings.product_cache_seconds,
    )
    answer = await state.writer.run(lambda conn: service.checkout(conn, req, checker=state.checker))
    return _signed(answer, body.nonce)


@router.post("/{lease_id}/heartbeat", responses={200: _SIGNED_LEASE})
async def heartbeat(
    state: StateDep, lease_id: LeaseId, credential: DeviceCredential, body: HeartbeatBody | None = None
) -> Response:
    """Keep the lease for another lease time; an ended lease answers ``lease_expired`` (410): check out again."""
    now = state.clock.now()
    answer = await state.writer.run(
        lambda conn: service.heartbeat(
            conn,
            lease_id=lease_id,
            credential=credential,
            now=now,
            checker=state.checker,
            cache_seconds=state.settings.product_cache_seconds,
        )
    )
    return _signed(answer, body.nonce if body is not None else None)


@router.post("/{lease_id}/release", response_model=LeaseOut)
async def release(state: StateDep, lease_id: LeaseId, credential: DeviceCredential) -> dict[str, Any]:
    """Return the seat now. Releasing an ended lease again answers how it ended."""
    now = state.clock.now()
    return await state.writer.run(lambda conn: service.release(conn, lease_id=lease_id, credential=credential, now=now))
