"""POST /v1/check, /v1/activate, /v1/deactivate: each answers a signed status document."""

from __future__ import annotations

import datetime as dt
import json
import time
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from prometheus_client import Counter, Histogram

from licentia.server.credentials import parse_device_credential
from licentia.server.devices.schemas import ActivateRequest, CheckRequest
from licentia.server.devices.service import CheckInput
from licentia.server.events.facts import server_facts
from licentia.server.products.test_mode import record_test_post
from licentia.server.state import state_of
from licentia.server.store.batch import RowChanged

router = APIRouter(prefix="/v1", tags=["devices"])

_RACE_RETRIES = 3
CHECKS = Counter("licentia_checks_total", "Status checks, activations and deactivations", ["action", "outcome"])
CHECK_SECONDS = Histogram("licentia_check_seconds", "Time to answer a status check", ["action"])

_SIGNED_DOC = {
    "description": "The signed status document (see docs/web-api.md) and, at first contact, the device credential.",
    "content": {
        "application/json": {
            "example": {
                "credential": {"device": "dv_0f3a...", "secret": "(shown once)"},
                "signed": {"document": {"status": "trial", "...": "..."}, "kid": "1a2b...", "sig": "..."},
            }
        }
    },
}


_children: dict[tuple[Any, ...], Any] = {}


def _metric(metric: Any, *labels: str) -> Any:
    """The metric's child for these labels; ``labels()`` validates and locks on every call."""
    key = (metric, *labels)
    child = _children.get(key)
    if child is None:
        child = _children[key] = metric.labels(*labels)
    return child


async def answer(request: Request, body: CheckRequest, credential: Any, action: str, key: str | None = None) -> bytes:
    """The JSON answer: the signed status document, and the device credential at first contact."""
    state = state_of(request.app)
    started = time.perf_counter()
    fp = body.fingerprint
    now = state.clock.now()
    inp = CheckInput(
        product=body.product,
        now=now,
        credential=credential,
        device_id=body.device_id,
        components={str(k): v for k, v in fp.components.items()} if fp else {},
        data_path=fp.data_path if fp else None,
        virtual=fp.virtual if fp else False,
        token=body.token,
        app_version=body.app_version,
        os_name=body.os,
        client_facts=dict(body.facts),
        server_facts=lambda: server_facts(request, now=now, trusted_proxies=state.trusted_proxies),
        action=action,
        license_key=key,
        channel=body.channel,
        resumed=body.resumed,
        installer_ticket=body.installer_ticket,
    )
    device = credential[0] if credential else None
    for attempt in range(_RACE_RETRIES):
        try:
            outcome = await state.writer.run(lambda conn: state.checker.run(conn, inp), read_ahead=device)
            break
        except RowChanged:
            # Another worker (or the vendor) changed this device meanwhile: decide again on the fresh row.
            if attempt == _RACE_RETRIES - 1:
                raise
    if outcome.test_mode:
        return await _kept_apart(request, body, action, now)
    if outcome.error is not None:
        _metric(CHECKS, action, outcome.error.code).inc()
        raise outcome.error
    if outcome.signer is None or outcome.document is None:
        raise RuntimeError("a status check without an error carries a document and its signer")
    if body.nonce is not None:  # the answer to this request, and to no other (docs/web-api.md, section 5)
        outcome.document["nonce"] = body.nonce
    signed = outcome.signer.sign(outcome.document, outcome.endorsements)
    credential_json = b"null" if outcome.credential is None else json.dumps(outcome.credential).encode()
    _metric(CHECKS, action, "ok").inc()
    _metric(CHECK_SECONDS, action).observe(time.perf_counter() - started)
    return b'{"credential":' + credential_json + b',"signed":' + signed + b"}"


async def _kept_apart(request: Request, body: CheckRequest, action: str, now: dt.datetime) -> bytes:
    """A post of a product in test mode: kept in ``test_posts``, emailed, and answered with itself."""
    state = state_of(request.app)
    post = body.model_dump(mode="json", exclude_unset=True)
    seen = server_facts(request, now=now, trusted_proxies=state.trusted_proxies)
    fernet = state.fernet

    def keep(conn: Any) -> dict[str, Any]:
        return record_test_post(
            conn, product=body.product, action=action, body=post, server_facts=seen, now=now, fernet=fernet
        )

    echo = await state.writer.run(keep)
    _metric(CHECKS, action, "test_mode").inc()
    return json.dumps(echo).encode()


# The handlers read and validate the body themselves (pydantic-core parses the
# JSON and validates in one pass) instead of through FastAPI's dependency
# machinery, which costs more than the status check's database work. The
# OpenAPI schema still documents the bodies.
def _documented(model: type[CheckRequest]) -> dict[str, Any]:
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{model.__name__}"}}},
        }
    }


async def serve_status(request: Request, raw_body: bytes, action: str, model: type[CheckRequest]) -> bytes:
    """Parse and answer one status call; the status lane and the routes below both run this.

    A bad body raises pydantic's ``ValidationError``, mapped to 400/422 by errors.py.
    """
    body = model.model_validate_json(raw_body)
    credential = parse_device_credential(request.headers.get("authorization"))
    return await answer(request, body, credential, action, body.key if isinstance(body, ActivateRequest) else None)


# These routes declare the endpoints for the OpenAPI schema; requests to them are
# answered by the status lane (devices/lane.py) before FastAPI's routing.
@router.post("/check", responses={200: _SIGNED_DOC}, openapi_extra=_documented(CheckRequest))
async def check(request: Request) -> Response:
    """Report in and get this device's signed status; first contact starts a trial.

    Send ``Authorization: Device <device>:<secret>`` on every call after the first.
    """
    answer = await serve_status(request, await request.body(), "check", CheckRequest)
    return Response(answer, media_type="application/json")


@router.post("/activate", responses={200: _SIGNED_DOC}, openapi_extra=_documented(ActivateRequest))
async def activate(request: Request) -> Response:
    """Bind this device to a license key's seat (never beyond the license's device limit)."""
    answer = await serve_status(request, await request.body(), "activate", ActivateRequest)
    return Response(answer, media_type="application/json")


@router.post("/deactivate", responses={200: _SIGNED_DOC}, openapi_extra=_documented(CheckRequest))
async def deactivate(request: Request) -> Response:
    """Free this device's seat; it keeps whatever trial it had left."""
    answer = await serve_status(request, await request.body(), "deactivate", CheckRequest)
    return Response(answer, media_type="application/json")
