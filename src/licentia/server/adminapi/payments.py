"""``POST /v1/hooks/payment``: a payment provider (or your shop) reports a paid order.

Threats and answers:
- forged orders: the raw body is signed with HMAC-SHA256 under a shared
  secret (``payment_webhook_secret``); the signature is compared in constant
  time and checked before the body is parsed;
- replayed deliveries: the signed text starts with a Unix timestamp, refused
  when more than ``TOLERANCE`` away from the server clock;
- re-delivered orders (providers retry until they see a 2xx): the purchase is
  unique by ``(source, order_id)``, so the same order answers the same license
  and never issues a second key or email, even when two deliveries race.

Signature header: ``Licentia-Signature: t=<unix seconds>,v1=<hex>`` where
``hex = HMAC_SHA256(secret, f"{t}.{raw body}")``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import ConfigDict, ValidationError

from licentia.server.errors import ApiError, ErrorCode
from licentia.server.fields import OrderRef
from licentia.server.licenses.changes import issue_and_email
from licentia.server.licenses.schemas import LicenseOrder, Sale, Source
from licentia.server.licenses.service import OrderRefInUse
from licentia.server.notify.signature import InvalidSignature, StaleSignature, verify_signature
from licentia.server.state import ClockDep, EngineDep, FernetDep, SettingsDep
from licentia.server.store import transactions
from licentia.server.store.tables import licenses, purchases

router = APIRouter(prefix="/v1/hooks", tags=["developer API"])
SIGNATURE_HEADER = "Licentia-Signature"
TOLERANCE = dt.timedelta(minutes=5)


class PaymentOrder(Sale):
    model_config = ConfigDict(extra="ignore")  # providers add fields over time

    order_id: OrderRef
    source: Source = "payment"

    def license_order(self) -> LicenseOrder:
        """The order to issue: the provider's order id is the purchase's reference; the key is emailed."""
        return LicenseOrder(**self.model_dump(exclude={"order_id"}), order_ref=self.order_id)


def verify(secret: str, header: str, body: bytes, now: dt.datetime) -> None:
    """The same ``t=<unix>,v1=<hex>`` scheme as outbound webhooks (notify.signature)."""
    try:
        verify_signature(body, header, secret, at=now, tolerance_seconds=int(TOLERANCE.total_seconds()))
    except StaleSignature as exc:
        raise ApiError(
            ErrorCode.STALE_SIGNATURE, "the signed timestamp is more than 5 minutes away: refused as a replay"
        ) from exc
    except InvalidSignature as exc:
        raise ApiError(
            ErrorCode.INVALID_SIGNATURE, f"{SIGNATURE_HEADER} does not sign this body (t=<unix seconds>,v1=<hex>)"
        ) from exc


def existing_license(conn: sa.Connection, *, source: str, order_id: str) -> Any:
    return conn.execute(
        sa.select(licenses.c.id, licenses.c.key_prefix)
        .join(purchases, purchases.c.id == licenses.c.purchase_id)
        .where(purchases.c.source == source, purchases.c.order_ref == order_id)
    ).first()


def _answer(license_id: int, key_prefix: str, created: bool) -> JSONResponse:
    # No clear key in the answer: it went to the customer by email, not to the provider's logs.
    body = {"license_id": license_id, "key_prefix": key_prefix, "created": created}
    return JSONResponse(body, status_code=201 if created else 200)


@router.post(
    "/payment",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": PaymentOrder.model_json_schema()}},
        },
        "parameters": [
            {
                "name": SIGNATURE_HEADER,
                "in": "header",
                "required": True,
                "schema": {"type": "string"},
                "description": "t=<unix seconds>,v1=<hex HMAC-SHA256 of '<t>.<raw body>'>",
            }
        ],
    },
    responses={
        200: {"description": "Order already seen: the same license (no new key, no new email)."},
        201: {"description": "License created; the key is emailed to the customer."},
        401: {"description": "`invalid_signature` or `stale_signature` (replay)."},
        503: {"description": "`webhook_not_configured`: no payment_webhook_secret set."},
    },
)
async def payment(
    request: Request, engine: EngineDep, clock: ClockDep, settings: SettingsDep, fernet: FernetDep
) -> JSONResponse:
    """A paid order: create the customer and license once per order id, and email the key."""
    secret = settings.payment_webhook_secret
    if secret is None:
        raise ApiError(
            ErrorCode.WEBHOOK_NOT_CONFIGURED, "set LICENTIA_PAYMENT_WEBHOOK_SECRET to accept payment webhooks"
        )
    raw = await request.body()
    now = clock.now()
    verify(secret.get_secret_value(), request.headers.get(SIGNATURE_HEADER, ""), raw, now)
    try:
        order = PaymentOrder.model_validate_json(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first.get("loc", ()))
        raise ApiError(ErrorCode.VALIDATION_ERROR, f"{field or 'body'}: {first.get('msg', 'invalid')}") from exc

    found = await transactions.read_only(engine, existing_license, source=order.source, order_id=order.order_id)
    if found is not None:
        return _answer(found.id, found.key_prefix, False)
    try:
        issued = await transactions.in_transaction(
            engine,
            issue_and_email,
            order=order.license_order(),
            actor=f"webhook:{order.source}",
            fernet=fernet,
            now=now,
        )
    except OrderRefInUse as exc:
        # A concurrent delivery of the same order won the unique (source, order_ref).
        if exc.license_id is None or exc.key_prefix is None:
            raise
        return _answer(exc.license_id, exc.key_prefix, False)
    return _answer(issued.id, issued.key_prefix, True)
