"""Writing to the outbox: a notification is a row written in the same transaction as its cause.

If the cause is rolled back, so is the notification; if SMTP or a webhook
receiver is down, the row waits and is retried with backoff by the delivery
worker. Nothing is sent from a request handler directly.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from cryptography.fernet import Fernet
from sqlalchemy.dialects import postgresql, sqlite

from licentia.server.notify.sealing import seal
from licentia.server.store.tables import outbox, webhooks


def message(*, channel: str, topic: str, payload: dict[str, Any], now: dt.datetime, **columns: Any) -> dict[str, Any]:
    """An outbox row's values: a message due now, not tried yet."""
    return {
        "channel": channel,
        "topic": topic,
        "payload": payload,
        "created_at": now,
        "next_attempt_at": now,
        "attempts": 0,
        **columns,
    }


def _insert(conn: sa.Connection, values: dict[str, Any]) -> bool:
    ins = (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(outbox)
    stmt = ins.values(**values)
    if values.get("dedupe_key"):
        stmt = stmt.on_conflict_do_nothing(index_elements=["dedupe_key"])
    # RETURNING, not rowcount: with psycopg, rowcount says 1 for a conflicting
    # insert that SQLAlchemy ran with implicit RETURNING of the primary key.
    return conn.execute(stmt.returning(outbox.c.id)).first() is not None


def enqueue_email(
    conn: sa.Connection,
    *,
    to: list[str],
    subject: str,
    text: str,
    topic: str,
    now: dt.datetime,
    html: str | None = None,
    dedupe_key: str | None = None,
    reply_to: str | None = None,
    secrets: Mapping[str, str] | None = None,
    fernet: Fernet | None = None,
    attachments: Iterable[Mapping[str, str]] = (),
) -> bool:
    """Queue one email; ``dedupe_key`` makes a repeated cause send it once.

    ``attachments`` are text files (``filename``, ``content_type``, ``text``),
    such as a purchase certificate; they hold nothing secret.

    ``secrets`` maps each secret in the text (a license key) to the mask that
    stands for it in the stored row; the secret itself is stored only sealed
    with the server's key (``fernet``) and put back when the email is sent
    (see :mod:`licentia.server.notify.sealing`).
    """
    if not to:
        return False
    payload: dict[str, Any] = {"to": to, "subject": subject, "text": text, "html": html}
    if reply_to:
        payload["reply_to"] = reply_to
    files = [dict(a) for a in attachments]
    if files:
        payload["attachments"] = files
    if secrets:
        if fernet is None:
            raise ValueError("an email carrying secrets needs the server's key to seal them")
        payload = seal(payload, secrets, fernet)
    return _insert(conn, message(channel="email", topic=topic, payload=payload, now=now, dedupe_key=dedupe_key))


def enqueue_webhooks(
    conn: sa.Connection,
    *,
    product_id: int | None,
    topic: str,
    data: dict[str, Any],
    now: dt.datetime,
    dedupe_key: str | None = None,
) -> int:
    """Queue one delivery per active webhook subscribed to ``topic`` (for the product or all products)."""
    rows = conn.execute(
        sa.select(webhooks.c.id, webhooks.c.url, webhooks.c.topics).where(
            webhooks.c.active.is_(True),
            sa.or_(webhooks.c.product_id.is_(None), webhooks.c.product_id == product_id),
        )
    ).all()
    hooks = [WebhookTarget(id=r.id, url=r.url, topics=tuple(r.topics or ())) for r in rows]
    return enqueue_webhook_deliveries(conn, hooks, topic=topic, data=data, now=now, dedupe_key=dedupe_key)


@dataclass(frozen=True)
class WebhookTarget:
    """What the outbox needs of a webhook (its secret stays in ``webhooks``, read at delivery)."""

    id: int
    url: str
    topics: tuple[str, ...] = ()


def enqueue_webhook_deliveries(
    conn: sa.Connection,
    hooks: Iterable[WebhookTarget],
    *,
    topic: str,
    data: dict[str, Any],
    now: dt.datetime,
    dedupe_key: str | None = None,
) -> int:
    """Like :func:`enqueue_webhooks` for hooks the caller already loaded (the event hook caches them)."""
    queued = 0
    for hook in hooks:
        if hook.topics and topic not in hook.topics:
            continue
        payload = {"webhook_id": hook.id, "url": hook.url, "topic": topic, "data": data}
        key = f"{dedupe_key}:wh{hook.id}" if dedupe_key else None
        queued += _insert(
            conn, message(channel="webhook", topic=topic, payload=payload, now=now, dedupe_key=key, webhook_id=hook.id)
        )
    return queued
