"""``POST /v1/hooks/{stripe,paddle,fastspring}``: payment providers' webhooks become licenses.

Each endpoint verifies the provider's own signature scheme on the raw body
before parsing it, then applies each event once (``orders.apply``). Any 2xx
tells the provider to stop retrying; a refused signature answers 401 and
changes nothing; a provider whose secret is not configured answers 503.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from starlette.concurrency import run_in_threadpool

from licentia.server.errors import ApiError, ErrorCode
from licentia.server.payments import fastspring_events, paddle_events, stripe_events
from licentia.server.payments.orders import Fact, Outcome, Paid, ProviderEvent, apply
from licentia.server.state import in_transaction, state_of

router = APIRouter(prefix="/v1/hooks", tags=["payment providers"])
RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "Handled, or already handled (`duplicate`: a re-delivery changed nothing)."},
    401: {"description": "`invalid_signature`, or `stale_signature` (timestamp outside the provider's tolerance)."},
    503: {"description": "`webhook_not_configured`: this provider's signing secret is not set."},
}


def _secret(request: Request, name: str) -> str:
    value = getattr(state_of(request.app).settings, f"{name}_webhook_secret")
    if value is None:
        raise ApiError(
            ErrorCode.WEBHOOK_NOT_CONFIGURED, f"set LICENTIA_{name.upper()}_WEBHOOK_SECRET to accept {name} webhooks"
        )
    return str(value.get_secret_value())


async def _apply(request: Request, event: ProviderEvent) -> Outcome:
    state = state_of(request.app)
    now = state.clock.now()
    for attempt in range(2):
        try:
            return await in_transaction(
                request, apply, event=event, now=now, fernet=state.fernet, reply_to=state.settings.customer_reply_to
            )
        except sa.exc.IntegrityError:
            # Two events of one order raced (a link or this event id was written meanwhile): once more finds it.
            if attempt:
                raise
    raise AssertionError("unreachable")


def _answer(outcome: Outcome) -> JSONResponse:
    return JSONResponse({"received": True, "duplicate": outcome.duplicate, "outcome": outcome.outcome})


@router.post("/stripe", responses=RESPONSES)
async def stripe_webhook(request: Request) -> JSONResponse:
    """Stripe: `checkout.session.completed`, `invoice.paid`, `customer.subscription.deleted`, `charge.refunded`."""
    secret = _secret(request, "stripe")
    raw = await request.body()
    now = state_of(request.app).clock.now()
    event = stripe_events.verify(raw, request.headers.get(stripe_events.HEADER, ""), secret, now=now)
    return _answer(await _apply(request, await _with_stripe_lines(request, stripe_events.read(event))))


async def _with_stripe_lines(request: Request, event: ProviderEvent) -> ProviderEvent:
    """Add the line items of a Checkout session from Stripe's API, where an API key is set."""
    settings = state_of(request.app).settings
    if settings.stripe_api_key is None:
        return event
    key = settings.stripe_api_key.get_secret_value()

    def lookup(fact: Paid) -> Paid:
        items = stripe_events.line_items(key, str(fact.lines_ref), api_base=settings.stripe_api_base)
        return dataclasses.replace(fact, items=[*fact.items, *items])

    return await _completed(event, lambda fact: bool(fact.lines_ref), lookup, "the order's items from Stripe's API")


async def _completed(
    event: ProviderEvent, wanted: Callable[[Paid], bool], lookup: Callable[[Paid], Paid], what: str
) -> ProviderEvent:
    """``event`` with each paid fact ``wanted`` completed by ``lookup`` (a provider API call, run in a thread)."""
    facts: list[Fact] = []
    for fact in event.facts:
        if isinstance(fact, Paid) and wanted(fact):
            try:
                fact = await run_in_threadpool(lookup, fact)
            except Exception as exc:
                # The provider retries a delivery that did not get a 2xx: the order is not lost.
                raise ApiError(ErrorCode.PROVIDER_UNAVAILABLE, f"could not read {what}") from exc
        facts.append(fact)
    return dataclasses.replace(event, facts=facts)


@router.post("/paddle", responses=RESPONSES)
async def paddle_webhook(request: Request) -> JSONResponse:
    """Paddle Billing: `transaction.completed`, `subscription.canceled`, `adjustment.created` / `.updated`."""
    secret = _secret(request, "paddle")
    raw = await request.body()
    now = state_of(request.app).clock.now()
    event = paddle_events.verify(raw, request.headers.get(paddle_events.HEADER, ""), secret, now=now)
    return _answer(await _apply(request, await _with_paddle_emails(request, paddle_events.read(event))))


async def _with_paddle_emails(request: Request, event: ProviderEvent) -> ProviderEvent:
    """Fill in the customer's email from Paddle's API where the transaction did not carry it."""
    settings = state_of(request.app).settings
    if settings.paddle_api_key is None:
        return event
    key = settings.paddle_api_key.get_secret_value()

    def lookup(fact: Paid) -> Paid:
        email, name = paddle_events.customer_email(
            key, sandbox=settings.paddle_sandbox, customer_id=str(fact.customer_ref)
        )
        return dataclasses.replace(fact, email=email, name=fact.name or name)

    return await _completed(
        event,
        lambda fact: fact.email is None and bool(fact.customer_ref) and not fact.renewal,
        lookup,
        "the customer from Paddle's API",
    )


@router.post("/fastspring", responses=RESPONSES, response_class=PlainTextResponse)
async def fastspring_webhook(request: Request) -> PlainTextResponse:
    """FastSpring: `order.completed`, `subscription.charge.completed`, `subscription.deactivated`, `return.created`.

    The answer lists the ids of the events handled, one per line, as FastSpring
    reads it to mark them processed.
    """
    secret = _secret(request, "fastspring")
    raw = await request.body()
    payload = fastspring_events.verify(raw, request.headers.get(fastspring_events.HEADER, ""), secret)
    handled = []
    for event in fastspring_events.read(payload):
        await _apply(request, event)
        handled.append(event.event_id)
    return PlainTextResponse("\n".join(handled))
