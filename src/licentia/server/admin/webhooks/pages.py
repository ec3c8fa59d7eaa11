"""Webhook endpoints in the admin UI: list, add, edit, disable, enable, test; each endpoint's delivery log.

The pages call the same services as the developer API and the CLI
(``notify.webhooks``, ``notify.deliveries``); a new or rotated secret is shown
once, on the page that answers the change.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncEngine

from licentia.server.admin.forms import NOT_CONFIRMED, Refused, confirmed, refused, render_form
from licentia.server.admin.service import all_products
from licentia.server.admin.web import Admin, Flashes, Form, Posted, read_or_404
from licentia.server.errors import ApiError, ErrorCode
from licentia.server.fields import RowId
from licentia.server.notify.catalog import DESCRIPTIONS, WebhookEvent
from licentia.server.notify.deliveries import deliveries, failing, redeliver
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
from licentia.server.settings import Settings
from licentia.server.state import ClockDep, EngineDep, SettingsDep, StateDep
from licentia.server.store import transactions

router = APIRouter(prefix="/webhooks")
EVENTS = [(event.value, DESCRIPTIONS[event]) for event in WebhookEvent]
# Which field of the add and edit forms an error of the service belongs beside.
FIELD_OF = {
    ErrorCode.INVALID_WEBHOOK_URL: "url",
    ErrorCode.INVALID_DESCRIPTION: "description",
    ErrorCode.INVALID_WEBHOOK_TOPICS: "events",
    ErrorCode.UNKNOWN_PRODUCT: "product",
}


async def _events(request: Request) -> list[str]:
    # Checkboxes named "event" repeat; the Form dependency keeps one value per name.
    form = await request.form()
    return [value for value in form.getlist("event") if isinstance(value, str)]


async def _list(
    request: Request, engine: AsyncEngine, refusal: Refused | None = None, chosen: list[str] | None = None
) -> Response:
    hooks = await transactions.read_only(engine, list_webhooks)
    failing_since = await transactions.read_only(engine, failing)
    products = await transactions.read_only(engine, all_products)
    context = {"hooks": hooks, "failing": failing_since, "products": products, "events": EVENTS, "chosen": chosen}
    return render_form(request, "webhooks.html", refusal, **context)


@router.get("")
async def webhooks_page(request: Request, engine: EngineDep, admin: Admin) -> Response:
    return await _list(request, engine)


@router.post("")
async def webhook_add(request: Request, settings: SettingsDep, posted: Posted) -> Response:
    chosen = await _events(request)

    async def again(exc: ApiError) -> Response:  # the form as it was typed, the error beside its field
        return await _list(request, posted.engine, refused(request, exc, posted.form, FIELD_OF), chosen)

    try:
        spec = WebhookSpec.of(
            url=posted.form.get("url", ""),
            events=[] if posted.form.get("all_events") else chosen,
            product=posted.form.get("product") or None,
            description=posted.form.get("description"),
        )
    except ApiError as exc:
        return await again(exc)
    return await posted.run(
        create_webhook,
        success=lambda made: _detail(  # the new endpoint's page, showing its signing secret this once
            request, posted.engine, settings, made.id, secret=made.secret, message="Endpoint added."
        ),
        back_to="/admin/webhooks",
        refused=again,
        spec=spec,
        fernet=settings.fernet(),
    )


async def _detail(
    request: Request,
    engine: AsyncEngine,
    settings: Settings,
    webhook_id: int,
    refusal: Refused | None = None,
    chosen: list[str] | None = None,
    **extra: Any,
) -> Response:
    hook = await read_or_404(engine, get_webhook, webhook_id=webhook_id)
    log = await transactions.read_only(
        engine,
        deliveries,
        webhook_id=webhook_id,
        max_attempts=settings.outbox_max_attempts,
        limit=100,
    )
    products = await transactions.read_only(engine, all_products)
    context = {"hook": hook, "log": log, "products": products, "events": EVENTS, "chosen": chosen}
    return render_form(request, "webhook.html", refusal, **context, **extra)


@router.get("/{webhook_id}")
async def webhook_page(
    request: Request, engine: EngineDep, settings: SettingsDep, admin: Admin, webhook_id: RowId
) -> Response:
    return await _detail(request, engine, settings, webhook_id)


@router.post("/{webhook_id}")
async def webhook_edit(
    request: Request,
    settings: SettingsDep,
    admin: Admin,
    form: Form,
    webhook_id: RowId,
    posted: Posted,
) -> Response:
    chosen = await _events(request)
    here = f"/admin/webhooks/{webhook_id}"

    async def again(exc: ApiError) -> Response:
        refusal = refused(request, exc, form, FIELD_OF)
        return await _detail(request, posted.engine, settings, webhook_id, refusal=refusal, chosen=chosen)

    try:
        change = WebhookChange.of(
            url=form.get("url", ""),
            events=[] if form.get("all_events") else chosen,
            description=form.get("description", ""),
            product=form.get("product") or None,
        )
    except ApiError as exc:
        return await again(exc)
    return await posted.run(
        update_webhook,
        success="Endpoint saved.",
        back_to=here,
        refused=again,
        webhook_id=webhook_id,
        change=change,
        fernet=settings.fernet(),
    )


@router.post("/{webhook_id}/rotate")
async def webhook_rotate(
    request: Request,
    engine: EngineDep,
    clock: ClockDep,
    settings: SettingsDep,
    admin: Admin,
    form: Form,
    flash: Flashes,
    webhook_id: RowId,
) -> Response:
    if not confirmed(form):  # the receiver's old secret stops working at once
        return flash.back(f"/admin/webhooks/{webhook_id}", error=NOT_CONFIRMED)
    try:
        secret = await transactions.in_transaction(
            engine,
            update_webhook,
            webhook_id=webhook_id,
            change=WebhookChange(rotate_secret=True),
            now=clock.now(),
            fernet=settings.fernet(),
            actor=admin.label,
        )
    except ApiError as exc:
        raise HTTPException(404, exc.message) from exc
    return await _detail(request, engine, settings, webhook_id, secret=secret, message="New signing secret made.")


@router.post("/{webhook_id}/test")
async def webhook_test(state: StateDep, admin: Admin, form: Form, flash: Flashes, webhook_id: RowId) -> Response:
    try:
        outcome = await test_endpoint(state, webhook_id=webhook_id, actor=admin.label)
    except ApiError as exc:
        raise HTTPException(404, exc.message) from exc
    here = f"/admin/webhooks/{webhook_id}"
    if outcome.ok:
        return flash.back(here, done=f"Test ping delivered: HTTP {outcome.response_code}.")
    return flash.back(here, error=f"Test ping not delivered: {outcome.error}")


@router.post("/{webhook_id}/{change}")
async def webhook_change(admin: Admin, form: Form, webhook_id: RowId, change: str, posted: Posted) -> Response:
    here = f"/admin/webhooks/{webhook_id}"
    if change in ("disable", "enable"):
        return await posted.run(
            set_active, success=f"Endpoint {change}d.", back_to=here, webhook_id=webhook_id, active=change == "enable"
        )
    if change == "delete":
        if not confirmed(form):
            return posted.back(here, error=NOT_CONFIRMED)
        return await posted.run(
            delete_webhook, success="Endpoint deleted.", back_to="/admin/webhooks", webhook_id=webhook_id
        )
    raise HTTPException(404, f"no webhook action {change!r}")


@router.post("/{webhook_id}/deliveries/{delivery_id}/redeliver")
async def webhook_redeliver(form: Form, webhook_id: RowId, delivery_id: RowId, posted: Posted) -> Response:
    return await posted.run(
        redeliver,
        success=f"Delivery #{delivery_id} queued again.",
        back_to=f"/admin/webhooks/{webhook_id}",
        webhook_id=webhook_id,
        delivery_id=delivery_id,
    )
