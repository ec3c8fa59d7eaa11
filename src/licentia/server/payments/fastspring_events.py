"""FastSpring webhooks: ``X-FS-Signature`` checked as FastSpring documents it, then read as order facts.

Signature: ``base64(HMAC-SHA256(the webhook's HMAC secret, raw body))``.
FastSpring ships no Python library, so the check is the standard library's
``hmac`` (constant-time compare). FastSpring signs no timestamp: a replayed
delivery is stopped by its event ids, every one of which is kept
(``payment_events``), so it changes nothing.

One delivery holds several events (``{"events": [...]}``); each is applied
once by its ``id``. Use "expanded" webhook payloads, so ``customer`` and
``subscription`` are objects (email, next charge date), not bare ids.

Events read (others are acknowledged and ignored):
- ``order.completed``: a paid order (products by their path ids); a subscription in state
  ``trial`` started a free trial that ends at its next charge (kept for the trial reminder);
- ``subscription.charge.completed``: a renewal, to the next charge date;
- ``subscription.deactivated``: the subscription ended;
- ``subscription.updated``: its ``quantity``, an organisation's seats (an
  upgrade or a downgrade; the same quantity changes nothing);
- ``return.created``: a refund of the order (full unless FastSpring marks it partial).
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
from licentia.server.payments.signatures import SignatureRefused, base64_hmac_sha256_matches, load_json_object

PROVIDER = "fastspring"
HEADER = "X-FS-Signature"


def verify(raw: bytes, header: str, secret: str) -> dict[str, Any]:
    if not header or not base64_hmac_sha256_matches(secret, raw, header):
        raise SignatureRefused(f"{HEADER} does not sign this body")
    payload = load_json_object(raw, "the FastSpring delivery")
    if not isinstance(payload.get("events"), list):
        raise ApiError(ErrorCode.INVALID_EVENT, 'a FastSpring delivery is {"events": [...]}')
    return payload


def _when_ms(value: Any) -> dt.datetime | None:
    return dt.datetime.fromtimestamp(value / 1000, dt.UTC) if isinstance(value, int | float) and value > 0 else None


def _id(value: Any, key: str = "id") -> str | None:
    if isinstance(value, dict):
        value = value.get(key) or value.get("id")
    return value if isinstance(value, str) and value else None


def _order(data: dict[str, Any]) -> Fact:
    if data.get("completed") is False:
        return Ignored("order not completed")
    customer: dict[str, Any] = data["customer"] if isinstance(data.get("customer"), dict) else {}
    name = " ".join(p for p in (customer.get("first"), customer.get("last")) if isinstance(p, str) and p) or None
    lines = [item for item in data.get("items") or [] if isinstance(item, dict)]
    subscriptions = [_id(item.get("subscription")) for item in lines]
    expanded = [item["subscription"] for item in lines if isinstance(item.get("subscription"), dict)]
    known = [e for e in (_next_charge(sub) for sub in expanded) if e]
    # A subscription bought with a free trial is in state "trial" until its first charge, due ``next``.
    trial_ends = [e for e in (_next_charge(sub) for sub in expanded if sub.get("state") == "trial") if e]
    return Paid(
        references=[r for r in (_id(data, "order"), *subscriptions, _id(data, "reference")) if r],
        items=[p for p in (_id(item.get("product"), "product") for item in lines) if p],
        email=customer.get("email") or data.get("email"),
        name=name,
        paid_until=max(known) if known else None,
        trial_until=min(trial_ends) if trial_ends else None,
        quantity=max((q for q in (_quantity(item.get("quantity")) for item in lines) if q), default=None),
    )


def _quantity(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def _subscription_updated(data: dict[str, Any]) -> Fact:
    quantity = _quantity(data.get("quantity"))
    if quantity is None:
        return Ignored("subscription update without a quantity")
    return Resized(references=[r for r in [_id(data, "subscription")] if r], quantity=quantity)


def _next_charge(subscription: dict[str, Any]) -> dt.datetime | None:
    return _when_ms(subscription.get("next")) or _when_ms(subscription.get("nextChargeDate"))


def _charge(data: dict[str, Any]) -> Fact:
    subscription = data.get("subscription")
    return Paid(
        references=[r for r in (_id(subscription, "subscription"), _id(data.get("order"), "order")) if r],
        items=[p for p in [_id((subscription or {}).get("product"), "product")] if p]
        if isinstance(subscription, dict)
        else [],
        email=None,
        paid_until=_when_ms(subscription.get("next")) if isinstance(subscription, dict) else None,
        renewal=True,
    )


def _deactivated(data: dict[str, Any]) -> Fact:
    ends_at = _when_ms(data.get("end")) or _when_ms(data.get("deactivationDate"))
    return Cancelled(references=[r for r in [_id(data, "subscription")] if r], ends_at=ends_at)


def _return(data: dict[str, Any]) -> Fact:
    original = data.get("original") if isinstance(data.get("original"), dict) else {}
    refs = [r for r in (_id(original, "order"), _id(original, "id"), _id(original, "reference")) if r]
    return Refunded(references=refs, full=not data.get("partial"))


READERS = {
    "order.completed": _order,
    "subscription.charge.completed": _charge,
    "subscription.deactivated": _deactivated,
    "subscription.updated": _subscription_updated,
    "return.created": _return,
}


def read(payload: dict[str, Any]) -> list[ProviderEvent]:
    found: list[ProviderEvent] = []
    for event in payload["events"]:
        if not isinstance(event, dict) or not isinstance(event.get("id"), str) or not event["id"]:
            raise ApiError(ErrorCode.INVALID_EVENT, "every FastSpring event has an id")
        found.append(read_event(PROVIDER, event["id"], str(event.get("type") or ""), event.get("data"), READERS))
    return found


def receive(raw: bytes, header: str, secret: str, *, now: dt.datetime) -> list[ProviderEvent]:
    """The delivery's events, verified (:func:`verify`) and read.

    FastSpring signs no timestamp, so ``now`` has nothing to check: a replayed
    event is recognised by its id and changes nothing (``orders.apply``).
    """
    del now
    return read(verify(raw, header, secret))
