"""The webhooks list marks an endpoint whose latest delivery did not go through; a test ping never does."""

from __future__ import annotations

from typing import Any

from licentia.server.notify.catalog import PING
from licentia.server.notify.deliveries import failing
from licentia.server.notify.outbox import message
from licentia.server.notify.webhook_specs import WebhookSpec
from licentia.server.notify.webhooks import create_webhook
from licentia.server.store.tables import outbox


def test_an_endpoint_fails_while_its_latest_delivery_is_tried_and_not_delivered(
    settings: Any, engine: Any, clock: Any, product: Any
) -> None:
    now = clock.now()
    with engine.begin() as conn:
        specs = [WebhookSpec(url=f"https://hooks.vendor.example/{n}") for n in range(3)]
        hooks = [create_webhook(conn, spec, now=now, fernet=settings.fernet()) for spec in specs]

        def queued(hook: Any, topic: str, **columns: Any) -> None:
            row = message(channel="webhook", topic=topic, payload={}, now=now, webhook_id=hook.id, **columns)
            conn.execute(outbox.insert().values(**row))

        queued(hooks[0], "license.created", attempts=3, last_error="HTTP 500")
        queued(hooks[1], "license.created", attempts=2, last_error="HTTP 500")
        queued(hooks[1], "license.revoked", attempts=1, sent_at=now)  # delivered since: not failing
        queued(hooks[2], PING, attempts=16, last_error="refused")  # a test ping says nothing of the endpoint
        assert failing(conn) == {hooks[0].id: now}
