"""Developer API for webhook endpoints: ``/v1/admin/webhooks``, their delivery log, redelivery and test.

A secret is answered once, when the endpoint is created or its secret rotated;
it is stored only sealed with the server's key. Every change is audited with
the token's name.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query
from fastapi.responses import Response

from licentia.server.adminapi.bearer import ReadActor, WriteActor
from licentia.server.fields import RowId
from licentia.server.notify.catalog import DESCRIPTIONS, WebhookEvent
from licentia.server.notify.deliveries import deliveries, redeliver
from licentia.server.notify.pings import test_endpoint
from licentia.server.notify.webhook_specs import WebhookChange, WebhookSpec
from licentia.server.notify.webhooks import (
    create_webhook,
    delete_webhook,
    get_webhook,
    list_webhooks,
    set_active,
    update_webhook,
)
from licentia.server.state import ClockDep, EngineDep, SettingsDep, StateDep
from licentia.server.store import transactions

router = APIRouter(prefix="/v1/admin", tags=["developer API", "developer API: webhooks"])
ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "`invalid_webhook_url`, `invalid_webhook_topics` (an unknown event), `invalid_description`"},
    401: {"description": "`missing_token` or `invalid_token`"},
    403: {"description": "`insufficient_scope` or `role_forbidden`: this call needs a `write` token"},
    404: {"description": "`unknown_webhook`, `unknown_delivery` or `unknown_product`"},
}


# The bodies are the domain's own definitions, under the names the OpenAPI has always given them.
class WebhookCreate(WebhookSpec):
    pass


class WebhookPatch(WebhookChange):
    pass


@router.get("/webhook-events", responses=ERRORS)
async def webhook_events(actor: ReadActor) -> list[dict[str, str]]:
    """Every event an endpoint may choose, with what it means."""
    return [{"event": event.value, "description": DESCRIPTIONS[event]} for event in WebhookEvent]


@router.get("/webhooks", responses=ERRORS)
async def webhooks_list(engine: EngineDep, actor: ReadActor) -> list[dict[str, Any]]:
    return [view.as_json() for view in await transactions.read_only(engine, list_webhooks)]


@router.post("/webhooks", status_code=201, responses=ERRORS)
async def webhook_create(
    engine: EngineDep, clock: ClockDep, settings: SettingsDep, body: WebhookCreate, actor: WriteActor
) -> dict[str, Any]:
    """Add an endpoint; the answer holds its signing ``secret``, shown this once."""

    def job(conn: Any) -> dict[str, Any]:
        made = create_webhook(conn, body, now=clock.now(), fernet=settings.fernet(), actor=actor.label)
        return {**get_webhook(conn, made.id).as_json(), "secret": made.secret}

    return await transactions.in_transaction(engine, job)


@router.get("/webhooks/{webhook_id}", responses=ERRORS)
async def webhook_one(engine: EngineDep, webhook_id: RowId, actor: ReadActor) -> dict[str, Any]:
    return (await transactions.read_only(engine, get_webhook, webhook_id=webhook_id)).as_json()


@router.patch("/webhooks/{webhook_id}", responses=ERRORS)
async def webhook_patch(
    engine: EngineDep, clock: ClockDep, settings: SettingsDep, webhook_id: RowId, body: WebhookPatch, actor: WriteActor
) -> dict[str, Any]:
    """Change the fields sent; with ``rotate_secret`` the answer holds the new ``secret``, shown this once."""

    def job(conn: Any) -> dict[str, Any]:
        secret = update_webhook(conn, webhook_id, body, now=clock.now(), fernet=settings.fernet(), actor=actor.label)
        answer = get_webhook(conn, webhook_id).as_json()
        return {**answer, "secret": secret} if secret else answer

    return await transactions.in_transaction(engine, job)


@router.post("/webhooks/{webhook_id}/disable", responses=ERRORS)
async def webhook_disable(engine: EngineDep, clock: ClockDep, webhook_id: RowId, actor: WriteActor) -> dict[str, Any]:
    await transactions.in_transaction(
        engine, set_active, webhook_id=webhook_id, active=False, now=clock.now(), actor=actor.label
    )
    return (await transactions.read_only(engine, get_webhook, webhook_id=webhook_id)).as_json()


@router.post("/webhooks/{webhook_id}/enable", responses=ERRORS)
async def webhook_enable(engine: EngineDep, clock: ClockDep, webhook_id: RowId, actor: WriteActor) -> dict[str, Any]:
    await transactions.in_transaction(
        engine, set_active, webhook_id=webhook_id, active=True, now=clock.now(), actor=actor.label
    )
    return (await transactions.read_only(engine, get_webhook, webhook_id=webhook_id)).as_json()


@router.delete("/webhooks/{webhook_id}", status_code=204, responses=ERRORS)
async def webhook_delete(engine: EngineDep, clock: ClockDep, webhook_id: RowId, actor: WriteActor) -> Response:
    await transactions.in_transaction(engine, delete_webhook, webhook_id=webhook_id, now=clock.now(), actor=actor.label)
    return Response(status_code=204)


@router.post("/webhooks/{webhook_id}/test", responses=ERRORS)
async def webhook_test(state: StateDep, webhook_id: RowId, actor: WriteActor) -> dict[str, Any]:
    """Send a signed ``ping`` now and answer how the receiver took it (it is also in the delivery log)."""
    outcome = await test_endpoint(state, webhook_id=webhook_id, actor=actor.label)
    return {"delivery_id": outcome.delivery_id, "delivered": outcome.ok, "response_code": outcome.response_code,
            "error": outcome.error}  # fmt: skip


@router.get("/webhooks/{webhook_id}/deliveries", responses=ERRORS)
async def webhook_deliveries(
    engine: EngineDep, settings: SettingsDep, webhook_id: RowId, actor: ReadActor, limit: int = Query(50, ge=1, le=200)
) -> list[dict[str, Any]]:
    """The endpoint's deliveries, newest first: event, status, attempts, the receiver's last HTTP status."""
    found = await transactions.read_only(
        engine,
        deliveries,
        webhook_id=webhook_id,
        max_attempts=settings.outbox_max_attempts,
        limit=limit,
    )
    return [delivery.as_json() for delivery in found]


@router.post("/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver", status_code=202, responses=ERRORS)
async def webhook_redeliver(
    engine: EngineDep, clock: ClockDep, webhook_id: RowId, delivery_id: RowId, actor: WriteActor
) -> dict[str, Any]:
    """Queue the delivery again (same event id); the answer names the new delivery."""
    new_id = await transactions.in_transaction(
        engine, redeliver, webhook_id=webhook_id, delivery_id=delivery_id, now=clock.now(), actor=actor.label
    )
    return {"delivery_id": new_id, "redelivery_of": delivery_id}
