"""Paddle Billing webhooks: ``Paddle-Signature`` verified by Paddle's SDK, then read as order facts.

Signature: ``ts=<unix>;h1=<hex HMAC-SHA256(secret key, "<ts>:<raw body>")>``.
``paddle_billing``'s ``PaddleSignature`` checks the HMAC; the timestamp is
checked here against the server's clock with the SDK's default variance of 5
seconds (the SDK's own check reads the process clock and is switched off by a
``TEST_MODE`` environment variable, which a server must never honour).

Events read (others are acknowledged and ignored):
- ``transaction.completed``: a paid order or subscription payment
  (``origin`` ``subscription_recurring`` is a renewal), with its price and
  product ids and the billing period's end;
- ``subscription.canceled``: the subscription ended;
- ``subscription.updated``: its items' quantity, an organisation's seats (an
  upgrade or a downgrade; the same quantity changes nothing);
- ``adjustment.created`` and ``adjustment.updated``: an approved refund or
  chargeback (``type`` ``full`` or ``partial``); one awaiting approval waits.

Paddle puts no email in a transaction: it is read from ``custom_data.email``
when the checkout set it, else from Paddle's API (``customers.get``) when
``paddle_api_key`` is configured.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from licentia.server.errors import ApiError, ErrorCode
from licentia.server.payments.orders import (
    Cancelled,
    Fact,
    Ignored,
    Paid,
    ProviderEvent,
    Refunded,
    Resized,
    read_event,
)
from licentia.server.payments.signatures import SignatureRefused, check_timestamp, load_json_object

PROVIDER = "paddle"
HEADER = "Paddle-Signature"
TOLERANCE = dt.timedelta(seconds=5)


def verify(raw: bytes, header: str, secret: str, *, now: dt.datetime) -> dict[str, Any]:
    # The SDK package loads its whole API client (two thirds of a second): at the first delivery, not at start.
    from paddle_billing.Notifications.PaddleSignature import PaddleSignature
    from paddle_billing.Notifications.Secret import Secret

    try:
        stamp, _hashes = PaddleSignature.parse(header)
        valid = PaddleSignature().verify(header, raw.decode("utf-8"), Secret(secret))
    except (ValueError, TypeError, UnicodeDecodeError) as exc:
        raise SignatureRefused(f"{HEADER} is not ts=<unix>;h1=<hex>") from exc
    if not valid or not header:
        raise SignatureRefused(f"{HEADER} does not sign this body")
    check_timestamp(stamp, now=now, tolerance=TOLERANCE)
    event = load_json_object(raw, "the Paddle event")
    if not isinstance(event.get("event_id"), str) or not event["event_id"]:
        raise ApiError(ErrorCode.INVALID_EVENT, "a Paddle event has an event_id")
    return event


def _when(value: Any) -> dt.datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _strs(*values: Any) -> list[str]:
    return [v for v in values if isinstance(v, str) and v]


def _transaction(data: dict[str, Any]) -> Fact:
    items: list[str] = []
    for item in data.get("items") or []:
        price = (item or {}).get("price") or {}
        items += _strs(price.get("id"), price.get("product_id"))
    custom = data.get("custom_data") or {}
    paid_until = _when((data.get("billing_period") or {}).get("ends_at"))
    # A subscription's first transaction of nothing is its free trial, which ends with that period.
    total = ((data.get("details") or {}).get("totals") or {}).get("grand_total")
    trial = data.get("origin") == "web" and bool(data.get("subscription_id")) and total == "0"
    return Paid(
        references=_strs(data.get("subscription_id"), data.get("id"), data.get("invoice_id")),
        items=items,
        email=custom.get("email") if isinstance(custom, dict) else None,
        name=custom.get("name") if isinstance(custom, dict) else None,
        paid_until=paid_until,
        renewal=data.get("origin") == "subscription_recurring",
        trial_until=paid_until if trial else None,
        customer_ref=data.get("customer_id") if isinstance(data.get("customer_id"), str) else None,
        quantity=_quantity(data.get("items")),
    )


def _quantity(items: Any) -> int | None:
    """The units bought: the largest item's quantity (an organisation's seats), if the items say."""
    found = [(item or {}).get("quantity") for item in (items if isinstance(items, list) else [])]
    counts = [q for q in found if isinstance(q, int) and not isinstance(q, bool) and q > 0]
    return max(counts) if counts else None


def _subscription_updated(data: dict[str, Any]) -> Fact:
    quantity = _quantity(data.get("items"))
    if quantity is None:
        return Ignored("subscription update without item quantities")
    return Resized(references=_strs(data.get("id")), quantity=quantity)


def _subscription_canceled(data: dict[str, Any]) -> Fact:
    period_end = _when((data.get("current_billing_period") or {}).get("ends_at"))
    return Cancelled(references=_strs(data.get("id")), ends_at=period_end or _when(data.get("canceled_at")))


def _adjustment(data: dict[str, Any]) -> Fact:
    if data.get("action") not in ("refund", "chargeback"):
        return Ignored(f"adjustment {data.get('action')} is not a refund")
    if data.get("status") != "approved":
        return Ignored(f"refund {data.get('status')}: waits for approval")
    return Refunded(
        references=_strs(data.get("subscription_id"), data.get("transaction_id")), full=data.get("type") == "full"
    )


READERS = {
    "transaction.completed": _transaction,
    "subscription.canceled": _subscription_canceled,
    "subscription.updated": _subscription_updated,
    "adjustment.created": _adjustment,
    "adjustment.updated": _adjustment,
}


def read(event: dict[str, Any]) -> ProviderEvent:
    return read_event(PROVIDER, event["event_id"], str(event.get("event_type") or ""), event.get("data"), READERS)


def receive(raw: bytes, header: str, secret: str, *, now: dt.datetime) -> list[ProviderEvent]:
    """The delivery's one event, verified (:func:`verify`) and read."""
    return [read(verify(raw, header, secret, now=now))]


def customer_email(api_key: str, *, sandbox: bool, customer_id: str) -> tuple[str, str | None]:
    """(email, name) of a Paddle customer, through Paddle's API (blocking: run it in a thread)."""
    from paddle_billing import Client, Environment, Options

    client = Client(api_key, options=Options(Environment.SANDBOX if sandbox else Environment.PRODUCTION), timeout=10)
    customer = client.customers.get(customer_id)
    return customer.email, customer.name
