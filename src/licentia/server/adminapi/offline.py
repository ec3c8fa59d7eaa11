"""The developer API's air-gapped activation: ``POST /v1/admin/offline/activations`` and ``.../deactivations``.

Both take the machine's file as text inside JSON and run in the status
check's writer, like ``/v1/activate``: a seat is claimed by the same code,
serialised the same way, and committed before the answer leaves.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter
from pydantic import BaseModel, Field

from licentia.core.clock import to_iso
from licentia.server.adminapi.bearer import WriteActor
from licentia.server.errors import ApiError, ErrorCode
from licentia.server.offline import service
from licentia.server.state import AppState, StateDep

router = APIRouter(prefix="/v1/admin/offline", tags=["developer API"])
ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "`invalid_offline_request`, `invalid_offline_proof`, `offline_request_expired`"},
    401: {"description": "`missing_token` or `invalid_token`"},
    403: {"description": "`insufficient_scope`, or a seat rule: `too_many_devices`, `license_suspended`, ..."},
    404: {"description": "`unknown_product`, `unknown_offline_activation`"},
    409: {"description": "`offline_request_used`, `offline_proof_used`: each file counts once"},
}


class ActivationIn(BaseModel):
    request: str = Field(max_length=64 * 1024, description="the activation request file's text, as the machine made it")
    lease_days: int = Field(
        default=service.DEFAULT_LEASE_DAYS,
        ge=1,
        le=service.MAX_LEASE_DAYS,
        description="how long the machine may run on the response without ever checking in",
    )


class ActivationOut(BaseModel):
    response: str = Field(description="the activation response file's text, to carry back to the machine")
    activation: str
    device: str
    license_id: int
    lease_until: str


class ProofIn(BaseModel):
    proof: str = Field(max_length=64 * 1024, description="the deactivation proof file's text")


class DeactivationOut(BaseModel):
    activation: str
    device: str
    license_id: int
    seat_freed: bool


async def answer(
    state: AppState, text: str, *, lease_days: int, actor: str, customer_email: str | None = None
) -> service.Answered:
    """Answer a request file in the writer (the portal and the admin UI call this too)."""
    unverified = service.read_request(text)
    now = state.clock.now()

    def job(conn: sa.Connection) -> service.Answered:
        return service.answer_request(
            conn,
            checker=state.checker,
            request=unverified,
            lease_days=lease_days,
            actor=actor,
            now=now,
            customer_email=customer_email,
        )

    try:
        return await state.writer.run(job)
    except sa.exc.IntegrityError as exc:
        # The same request answered by another worker at the same moment: its nonce won.
        raise ApiError(ErrorCode.OFFLINE_REQUEST_USED, "this activation request was answered already") from exc


async def free(state: AppState, proof: str, *, actor: str, allowed: Any = None) -> service.Deactivated:
    now = state.clock.now()
    return await state.writer.run(
        lambda conn: service.deactivate(conn, proof=proof, actor=actor, now=now, allowed=allowed)
    )


@router.post("/activations", response_model=ActivationOut, responses=ERRORS)
async def activate(state: StateDep, body: ActivationIn, actor: WriteActor) -> dict[str, Any]:
    """Turn a machine's activation request into its signed response (the seat is taken now)."""
    done = await answer(state, body.request, lease_days=body.lease_days, actor=actor.label)
    return _activation_out(done)


@router.post("/deactivations", response_model=DeactivationOut, responses=ERRORS)
async def deactivate(state: StateDep, body: ProofIn, actor: WriteActor) -> dict[str, Any]:
    """Free the seat of an offline activation with the proof its machine wrote (once)."""
    done = await free(state, body.proof, actor=actor.label)
    return vars(done)


def _activation_out(done: service.Answered) -> dict[str, Any]:
    return {
        "response": done.response,
        "activation": done.activation,
        "device": done.device,
        "license_id": done.license_id,
        "lease_until": to_iso(done.lease_until),
    }


__all__ = ["answer", "free", "router"]
