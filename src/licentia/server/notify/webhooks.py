"""Registering webhook endpoints (for the admin UI, the developer API and tests)."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

import sqlalchemy as sa

from licentia.core.vocabulary import Topic
from licentia.server.errors import ApiError, ErrorCode
from licentia.server.notify.outbox import webhooks


@dataclass(frozen=True)
class CreatedWebhook:
    id: int
    # Shown once to the vendor, who configures their receiver with it.
    secret: str


def new_webhook_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def create_webhook(
    conn: sa.Connection,
    *,
    url: str,
    now: dt.datetime,
    product_id: int | None = None,
    topics: Sequence[str] = (),
    secret: str | None = None,
) -> CreatedWebhook:
    """Add an endpoint for ``topics`` (all when empty) of one product, or of every product when None."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ApiError(
            ErrorCode.INVALID_WEBHOOK_URL, "a webhook URL starts with https:// (or http://) and names a host"
        )
    unknown = sorted(set(topics) - set(Topic))
    if unknown:
        raise ApiError(
            ErrorCode.INVALID_WEBHOOK_TOPICS,
            f"unknown topics {unknown}; choose from {[topic.value for topic in Topic]}",
        )
    secret = secret or new_webhook_secret()
    webhook_id = conn.execute(
        webhooks.insert()
        .values(product_id=product_id, url=url, secret=secret, topics=sorted(set(topics)), active=True, created_at=now)
        .returning(webhooks.c.id)
    ).scalar_one()
    return CreatedWebhook(int(webhook_id), secret)
