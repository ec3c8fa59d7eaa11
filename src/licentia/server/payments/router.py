"""``POST /v1/hooks/{stripe,paddle,fastspring}``: payment providers' webhooks become licenses.

Each endpoint verifies the provider's own signature scheme on the raw body
before parsing it, then applies each event once (``orders.apply``). Any 2xx
tells the provider to stop retrying; a refused signature answers 401 and
changes nothing; a provider whose secret is not configured answers 503.

The three endpoints are one body driven by :data:`HOOKS`, a row per provider:
what differs (the signature scheme, the secret, the API call that completes an
order, the answer the provider reads) is data, the order of the steps is not.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

import sqlalchemy as sa
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from pydantic import SecretStr
from starlette.concurrency import run_in_threadpool

from licentia.server.errors import ApiError, ErrorCode
from licentia.server.payments import fastspring_events, paddle_events, stripe_events
from licentia.server.payments.mapping import Provider
from licentia.server.payments.orders import Fact, Outcome, Paid, ProviderEvent, apply
from licentia.server.settings import Settings
from licentia.server.state import AppState, StateDep
from licentia.server.store import transactions

router = APIRouter(prefix="/v1/hooks", tags=["payment providers"])
RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "Handled, or already handled (`duplicate`: a re-delivery changed nothing)."},
    401: {"description": "`invalid_signature`, or `stale_signature` (timestamp outside the provider's tolerance)."},
    503: {"description": "`webhook_not_configured`: this provider's signing secret is not set."},
}
Handled = list[tuple[ProviderEvent, Outcome]]


class Receive(Protocol):
    """A provider's signature check and reading of a delivery: its events, or a 401 (``signatures``)."""

    def __call__(self, raw: bytes, header: str, secret: str, *, now: dt.datetime) -> list[ProviderEvent]: ...


@dataclass(frozen=True, kw_only=True)
class ProviderHook:
    """One provider's webhook: where it posts, how its deliveries are checked, completed and answered."""

    provider: Provider
    doc: str  # the endpoint's OpenAPI description
    header: str  # the signature's header
    secret: Callable[[Settings], SecretStr | None]
    receive: Receive
    complete: Callable[[Settings, ProviderEvent], Awaitable[ProviderEvent]] | None
    answer: Callable[[Handled], Response]
    response_class: type[Response]


def _secret(settings: Settings, hook: ProviderHook) -> str:
    value = hook.secret(settings)
    if value is None:
        name = hook.provider.value
        raise ApiError(
            ErrorCode.WEBHOOK_NOT_CONFIGURED, f"set LICENTIA_{name.upper()}_WEBHOOK_SECRET to accept {name} webhooks"
        )
    return str(value.get_secret_value())


async def _apply(state: AppState, event: ProviderEvent) -> Outcome:
    now = state.clock.now()
    for attempt in range(2):
        try:
            return await transactions.in_transaction(
                state.async_engine,
                apply,
                event=event,
                now=now,
                fernet=state.fernet,
                reply_to=state.settings.customer_reply_to,
            )
        except sa.exc.IntegrityError:
            # Two events of one order raced (a link or this event id was written meanwhile): once more finds it.
            if attempt:
                raise
    raise AssertionError("unreachable")


def _endpoint(hook: ProviderHook) -> Callable[[Request, AppState], Awaitable[Response]]:
    async def webhook(request: Request, state: StateDep) -> Response:
        secret = _secret(state.settings, hook)
        raw = await request.body()
        events = hook.receive(raw, request.headers.get(hook.header, ""), secret, now=state.clock.now())
        handled: Handled = []
        for event in events:
            if hook.complete is not None:
                event = await hook.complete(state.settings, event)
            handled.append((event, await _apply(state, event)))
        return hook.answer(handled)

    return webhook


def _outcome(handled: Handled) -> Response:
    """The one event's outcome, as JSON."""
    ((_event, outcome),) = handled
    return JSONResponse({"received": True, "duplicate": outcome.duplicate, "outcome": outcome.outcome})


def _event_ids(handled: Handled) -> Response:
    """The ids of the events handled, one per line: FastSpring reads them to mark the events processed."""
    return PlainTextResponse("\n".join(event.event_id for event, _outcome in handled))


async def _with_stripe_lines(settings: Settings, event: ProviderEvent) -> ProviderEvent:
    """Add the line items of a Checkout session from Stripe's API, where an API key is set."""
    if settings.stripe_api_key is None:
        return event
    key = settings.stripe_api_key.get_secret_value()

    def lookup(fact: Paid) -> Paid:
        items = stripe_events.line_items(key, str(fact.lines_ref), api_base=settings.stripe_api_base)
        return dataclasses.replace(fact, items=[*fact.items, *items])

    return await _completed(event, lambda fact: bool(fact.lines_ref), lookup, "the order's items from Stripe's API")


async def _with_paddle_emails(settings: Settings, event: ProviderEvent) -> ProviderEvent:
    """Fill in the customer's email from Paddle's API where the transaction did not carry it."""
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


HOOKS: tuple[ProviderHook, ...] = (
    ProviderHook(
        provider=Provider.STRIPE,
        doc=(
            "Stripe: `checkout.session.completed`, `invoice.paid`, `customer.subscription.deleted`,"
            " `customer.subscription.updated`, `charge.refunded`."
        ),
        header=stripe_events.HEADER,
        secret=lambda settings: settings.stripe_webhook_secret,
        receive=stripe_events.receive,
        complete=_with_stripe_lines,
        answer=_outcome,
        response_class=JSONResponse,
    ),
    ProviderHook(
        provider=Provider.PADDLE,
        doc=(
            "Paddle Billing: `transaction.completed`, `subscription.canceled`, `subscription.updated`,"
            " `adjustment.created` / `.updated`."
        ),
        header=paddle_events.HEADER,
        secret=lambda settings: settings.paddle_webhook_secret,
        receive=paddle_events.receive,
        complete=_with_paddle_emails,
        answer=_outcome,
        response_class=JSONResponse,
    ),
    ProviderHook(
        provider=Provider.FASTSPRING,
        doc=(
            "FastSpring: `order.completed`, `subscription.charge.completed`, `subscription.deactivated`,"
            " `subscription.updated`, `return.created`.\n\n"
            "The answer lists the ids of the events handled, one per line, as FastSpring\n"
            "reads it to mark them processed."
        ),
        header=fastspring_events.HEADER,
        secret=lambda settings: settings.fastspring_webhook_secret,
        receive=fastspring_events.receive,
        complete=None,
        answer=_event_ids,
        response_class=PlainTextResponse,
    ),
)

for _hook in HOOKS:
    router.add_api_route(
        f"/{_hook.provider.value}",
        _endpoint(_hook),
        methods=["POST"],
        name=f"{_hook.provider.value}_webhook",
        description=_hook.doc,
        responses=RESPONSES,
        response_class=_hook.response_class,
    )
