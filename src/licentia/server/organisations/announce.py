"""Webhook events of organisations (``notify.catalog``: organisation.created, member.*).

An organisation is no product's, so its events go to the endpoints listening to
every product, and to those of the products whose licenses it holds. Queued in
the transaction of the change, once per cause (a retried request queues nothing new).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa

from licentia.server.notify.catalog import WebhookEvent
from licentia.server.notify.outbox import WebhookTarget, enqueue_webhook_deliveries
from licentia.server.store.tables import licenses, organisations, webhooks


def announce(
    conn: sa.Connection, event: WebhookEvent, *, organisation_id: int, now: dt.datetime, cause: str, **data: Any
) -> int:
    org = conn.execute(
        sa.select(organisations.c.id, organisations.c.name).where(organisations.c.id == organisation_id)
    ).first()
    if org is None:
        return 0
    held = sa.select(licenses.c.product_id).where(licenses.c.organisation_id == organisation_id)
    rows = conn.execute(
        sa.select(webhooks.c.id, webhooks.c.url, webhooks.c.topics).where(
            webhooks.c.active.is_(True), sa.or_(webhooks.c.product_id.is_(None), webhooks.c.product_id.in_(held))
        )
    ).all()
    hooks = [
        WebhookTarget(id=r.id, url=r.url, topics=tuple(r.topics or ()) if isinstance(r.topics, list) else ())
        for r in rows
    ]
    body = {"organisation": {"id": org.id, "name": org.name}, **data}
    key = f"{event.value}:{organisation_id}:{cause}"
    return enqueue_webhook_deliveries(conn, hooks, topic=event.value, data=body, now=now, dedupe_key=key)
