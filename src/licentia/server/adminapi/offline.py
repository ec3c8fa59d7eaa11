"""The developer API's air-gapped activation: ``POST /v1/admin/offline/activations`` and ``.../deactivations``.

Both take the machine's file as text inside JSON and run in the status
check's writer, like ``/v1/activate``: a seat is claimed by the same code,
serialised the same way, and committed before the answer leaves.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from licentia.core.clock import to_iso
from licentia.server.adminapi.bearer import WriteActor
from licentia.server.offline import service
from licentia.server.offline.writes import answer, free
from licentia.server.state import StateDep

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
