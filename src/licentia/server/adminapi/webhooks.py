"""Developer API for webhook endpoints: ``/v1/admin/webhooks``, their delivery log, redelivery and test.

A secret is answered once, when the endpoint is created or its secret rotated;
it is stored only sealed with the server's key. Every change is audited with
the token's name.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from licentia.server.adminapi.bearer import ReadActor, WriteActor
from licentia.server.fields import RowId
from licentia.server.notify.catalog import DESCRIPTIONS, WebhookEvent
from licentia.server.notify.deliveries import deliveries, redeliver
from licentia.server.notify.pings import test_endpoint
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


class WebhookCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: str = Field(max_length=2000, examples=["https://hooks.vendor.example/licentia"])
    events: list[str] = Field(default_factory=list, description="event names; empty: every event")
    product: str | None = Field(default=None, description="a product's slug; null: every product")
    description: str | None = Field(default=None, max_length=200)


class WebhookPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: str | None = Field(default=None, max_length=2000)
    events: list[str] | None = None
    product: str | None = Field(default=None, description="a product's slug; send null for every product")
    description: str | None = Field(default=None, max_length=200)
    rotate_secret: bool = False


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
        made = create_webhook(
            conn,
            url=body.url,
            events=body.events,
            product=body.product,
            description=body.description,
            now=clock.now(),
            fernet=settings.fernet(),
            actor=actor.label,
        )
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
    sent = body.model_fields_set

    def job(conn: Any) -> dict[str, Any]:
        options: dict[str, Any] = {k: getattr(body, k) for k in ("url", "events", "description") if k in sent}
        if "product" in sent:
            options["product"] = body.product
        secret = update_webhook(
            conn,
            webhook_id=webhook_id,
            now=clock.now(),
            fernet=settings.fernet(),
            actor=actor.label,
            rotate_secret=body.rotate_secret,
            **options,
        )
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
