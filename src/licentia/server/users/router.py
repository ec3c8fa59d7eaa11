"""``POST /v1/device/authorize`` and ``POST /v1/device/token``: an application signs its user in (RFC 8628).

Both calls carry the installation's credential (``Authorization: Device
ID:SECRET``, from its first ``/v1/check``): the grant belongs to that
installation, and only it may poll. The token call's body is a status check's
with the ``device_code`` added; once the person approved, it is answered as
``/v1/check`` is (the signed status document, now naming the user), in place
of an OAuth access token: the installation's credential stays its only secret.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any
from urllib.parse import quote

import sqlalchemy as sa
from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from licentia.core.usercodes import shown
from licentia.server.credentials import DeviceCredential, authenticate
from licentia.server.devices.router import answer
from licentia.server.devices.schemas import CheckRequest, Slug
from licentia.server.errors import ApiError, ErrorCode
from licentia.server.state import StateDep
from licentia.server.store import transactions
from licentia.server.store.tables import products
from licentia.server.users import device_flow

router = APIRouter(prefix="/v1/device", tags=["device sign-in"])
GRANT_TYPE = "urn:ietf:params:oauth:grant-type:device_code"


class AuthorizeBody(BaseModel):
    model_config = ConfigDict(extra="ignore")

    product: Slug


class Authorization(BaseModel):
    """What the application shows: the code and where to type it (RFC 8628, section 3.2)."""

    device_code: str = Field(description="Secret: the application keeps it and polls with it; never shown.")
    user_code: str = Field(description="Shown to the person, e.g. BDFG-HJKM (consonants; the last is a check).")
    verification_uri: str
    verification_uri_complete: str = Field(description="The same page with the code filled in (a link or QR code).")
    expires_in: int
    interval: int = Field(description="Seconds to wait between polls of /v1/device/token.")


class TokenRequest(CheckRequest):
    """A status check's body, with the device code of the grant it waits for."""

    device_code: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    grant_type: str = Field(default=GRANT_TYPE, description=f"Optional; if given, {GRANT_TYPE}.")


def _start(conn: sa.Connection, *, credential: Any, slug: str, **kwargs: Any) -> device_flow.Started | ApiError:
    device = authenticate(conn, credential)
    product_id = conn.execute(sa.select(products.c.id).where(products.c.slug == slug)).scalar()
    if product_id is None:
        raise ApiError(ErrorCode.UNKNOWN_PRODUCT, f"no product named {slug!r}")
    if product_id != device.product_id:
        raise ApiError(ErrorCode.INVALID_CREDENTIAL, "this device credential is not of this product")
    return device_flow.start(conn, device_id=device.id, product_id=int(product_id), **kwargs)


@router.post("/authorize", response_model=Authorization)
async def authorize(body: AuthorizeBody, request: Request, state: StateDep, credential: DeviceCredential) -> Any:
    """Start signing this installation's user in: show ``user_code`` and ``verification_uri`` to the person."""
    settings = state.settings
    started = await transactions.in_transaction(
        state.async_engine,
        _start,
        credential=credential,
        slug=body.product,
        now=state.clock.now(),
        lifetime=dt.timedelta(minutes=settings.device_code_minutes),
        interval=settings.device_poll_seconds,
    )
    if isinstance(started, ApiError):
        raise started
    page = settings.base_url.rstrip("/") + "/portal/device"
    return Authorization(
        device_code=started.device_code,
        user_code=shown(started.user_code),
        verification_uri=page,
        verification_uri_complete=f"{page}?code={quote(started.user_code)}",
        expires_in=started.expires_in,
        interval=started.interval,
    )


def _poll(conn: sa.Connection, *, credential: Any, device_code: str, now: dt.datetime) -> device_flow.Polled:
    device = authenticate(conn, credential)
    return device_flow.poll(conn, device_code=device_code, device_id=device.id, now=now)


@router.post(
    "/token",
    responses={
        200: {"description": "Approved: the signed status document (as /v1/check answers), naming the user."},
        400: {"description": "authorization_pending, slow_down, access_denied, expired_token or invalid_grant."},
    },
)
async def token(body: TokenRequest, request: Request, state: StateDep, credential: DeviceCredential) -> Response:
    """Poll for the person's decision, no sooner than ``interval`` seconds after the last poll."""
    if body.grant_type != GRANT_TYPE:
        raise ApiError(ErrorCode.BAD_REQUEST, f"grant_type is {GRANT_TYPE}")
    polled = await transactions.in_transaction(
        state.async_engine, _poll, credential=credential, device_code=body.device_code, now=state.clock.now()
    )
    if polled.error is not None:
        raise polled.error
    signed = await answer(request, body, credential, "check")
    return Response(signed, media_type="application/json")
