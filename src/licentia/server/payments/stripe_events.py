"""Stripe webhooks: ``Stripe-Signature`` verified by the ``stripe`` library, then read as order facts.

Signature: ``t=<unix>,v1=<hex HMAC-SHA256(endpoint secret, "<t>.<raw body>")>``
(several ``v1`` during a secret's rotation). The ``stripe`` library checks it
(``WebhookSignature.verify_header``); the timestamp is then checked against
the server's clock with Stripe's default tolerance of 300 seconds, so a
captured delivery replayed later is refused even before its event id is seen.

Events read (others are acknowledged and ignored):
- ``checkout.session.completed``: a paid Checkout. The items are found by
  ``metadata.licentia_item`` (a price or product id the vendor sets on the
  session or Payment Link), by the Payment Link id, and by any line items
  present; Stripe does not put line items in the event itself, so with an API
  key (``LICENTIA_STRIPE_API_KEY``) they are read from Stripe's API
  (:func:`line_items`).
- ``invoice.paid``: a subscription payment (the first one or a renewal), with
  its price ids and the paid period's end.
- ``customer.subscription.deleted``: the subscription ended.
- ``customer.subscription.updated``: its items' quantity, an organisation's
  seats (an upgrade or a downgrade; the same quantity changes nothing).
- ``charge.refunded``: a refund (full when the whole amount was refunded).
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

PROVIDER = "stripe"
HEADER = "Stripe-Signature"
# Stripe's default (``stripe.Webhook.DEFAULT_TOLERANCE``).
TOLERANCE = dt.timedelta(seconds=300)


def verify(raw: bytes, header: str, secret: str, *, now: dt.datetime) -> dict[str, Any]:
    """The verified event as JSON, or :class:`SignatureRefused`."""
    import stripe  # a quarter of a second: loaded by the first delivery, not by every server start

    try:
        stripe.WebhookSignature.verify_header(raw.decode("utf-8"), header, secret, tolerance=None)
        stamp = int(next(p[2:] for p in header.split(",") if p.strip().startswith("t=")))
    except (stripe.SignatureVerificationError, UnicodeDecodeError, StopIteration, ValueError, TypeError) as exc:
        raise SignatureRefused(f"{HEADER} does not sign this body") from exc
    check_timestamp(stamp, now=now, tolerance=TOLERANCE)
    return load_json_object(raw, "the Stripe event")


def _when(value: Any) -> dt.datetime | None:
    return dt.datetime.fromtimestamp(int(value), dt.UTC) if isinstance(value, int | float) and value > 0 else None


def _id(value: Any) -> str | None:
    """An id field, whether Stripe sent the id or the expanded object."""
    if isinstance(value, dict):
        value = value.get("id")
    return value if isinstance(value, str) and value else None


def _refs(*values: Any) -> list[str]:
    return [v for v in (_id(x) for x in values) if v]


def _line_prices(lines: Any) -> list[str]:
    found: list[str] = []
    for line in (lines or {}).get("data", []) if isinstance(lines, dict) else []:
        price = line.get("price") or ((line.get("pricing") or {}).get("price_details") or {}).get("price")
        product = (line.get("price") or {}).get("product") if isinstance(line.get("price"), dict) else None
        product = product or ((line.get("pricing") or {}).get("price_details") or {}).get("product")
        found += _refs(price, product)
    return found


def _quantity(lines: Any) -> int | None:
    """The units bought: the largest line's quantity (an organisation's seats), if the lines say."""
    found = [
        line.get("quantity")
        for line in ((lines or {}).get("data", []) if isinstance(lines, dict) else [])
        if isinstance(line, dict)
    ]
    counts = [q for q in found if isinstance(q, int) and not isinstance(q, bool) and q > 0]
    return max(counts) if counts else None


def _subscription_of_invoice(invoice: dict[str, Any]) -> str | None:
    parent = ((invoice.get("parent") or {}).get("subscription_details") or {}).get("subscription")
    return _id(invoice.get("subscription")) or _id(parent)


def _checkout(session: dict[str, Any]) -> Fact:
    if session.get("payment_status") not in ("paid", "no_payment_required"):
        return Ignored("checkout not paid yet")
    details = session.get("customer_details") or {}
    metadata = session.get("metadata") or {}
    items = _refs(metadata.get("licentia_item"), session.get("payment_link")) + _line_prices(session.get("line_items"))
    return Paid(
        references=_refs(
            session.get("subscription"), session.get("id"), session.get("payment_intent"), session.get("invoice")
        ),
        items=items,
        email=details.get("email") or session.get("customer_email"),
        name=details.get("name"),
        lines_ref=_id(session) if session.get("line_items") is None else None,
        quantity=_quantity(session.get("line_items")),
    )


def line_items(api_key: str, session_id: str, *, api_base: str | None = None) -> list[str]:
    """The price and product ids bought in a Checkout session, from Stripe's API (blocking: run it in a thread).

    A restricted key with read access to Checkout Sessions is enough. ``api_base``
    sends the call elsewhere than api.stripe.com (an egress proxy).
    """
    import stripe

    options: dict[str, Any] = {"base_addresses": {"api": api_base}} if api_base else {}
    client = stripe.StripeClient(api_key, max_network_retries=2, **options)
    found = client.v1.checkout.sessions.line_items.list(session_id, {"limit": 100})
    return _line_prices({"data": [item.to_dict() for item in found.data]})


def _invoice(invoice: dict[str, Any]) -> Fact:
    subscription = _subscription_of_invoice(invoice)
    if subscription is None:
        return Ignored("invoice of no subscription (one-time orders arrive as checkout.session.completed)")
    lines = (invoice.get("lines") or {}).get("data", [])
    ends = [e for e in (_when((line.get("period") or {}).get("end")) for line in lines) if e]
    paid_until = max(ends) if ends else None
    # A subscription's first invoice of nothing is its free trial, which ends with that period.
    trial = invoice.get("billing_reason") == "subscription_create" and invoice.get("amount_paid") == 0
    return Paid(
        references=_refs(subscription, invoice.get("id"), invoice.get("payment_intent"), invoice.get("charge")),
        items=_line_prices(invoice.get("lines")),
        email=invoice.get("customer_email"),
        name=invoice.get("customer_name"),
        paid_until=paid_until,
        renewal=invoice.get("billing_reason") == "subscription_cycle",
        trial_until=paid_until if trial else None,
        quantity=_quantity(invoice.get("lines")),
    )


def _subscription_deleted(sub: dict[str, Any]) -> Fact:
    items = (sub.get("items") or {}).get("data", [])
    ends = [_when(sub.get("current_period_end"))] + [_when(i.get("current_period_end")) for i in items]
    known = [e for e in ends if e]
    return Cancelled(references=_refs(sub.get("id")), ends_at=max(known) if known else _when(sub.get("ended_at")))


def _subscription_updated(sub: dict[str, Any]) -> Fact:
    quantity = _quantity(sub.get("items"))
    if quantity is None:
        return Ignored("subscription update without item quantities")
    return Resized(references=_refs(sub.get("id")), quantity=quantity)


def _charge_refunded(charge: dict[str, Any]) -> Fact:
    full = bool(charge.get("refunded")) or charge.get("amount_refunded") == charge.get("amount")
    return Refunded(references=_refs(charge.get("payment_intent"), charge.get("invoice"), charge.get("id")), full=full)


READERS = {
    "checkout.session.completed": _checkout,
    "invoice.paid": _invoice,
    "customer.subscription.deleted": _subscription_deleted,
    "customer.subscription.updated": _subscription_updated,
    "charge.refunded": _charge_refunded,
}


def read(event: dict[str, Any]) -> ProviderEvent:
    event_id = event.get("id")
    if not isinstance(event_id, str) or not event_id:
        raise ApiError(ErrorCode.INVALID_EVENT, "a Stripe event has an id")
    return read_event(
        PROVIDER, event_id, str(event.get("type") or ""), (event.get("data") or {}).get("object"), READERS
    )


def receive(raw: bytes, header: str, secret: str, *, now: dt.datetime) -> list[ProviderEvent]:
    """The delivery's one event, verified (:func:`verify`) and read."""
    return [read(verify(raw, header, secret, now=now))]
