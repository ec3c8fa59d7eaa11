"""Webhook endpoints: create, edit, disable, enable, test; for the admin UI, the developer API and the CLI.

Threat: a copy of the database (a backup, a read-only SQL account) holding
the signing secrets in clear lets its reader forge deliveries that every
receiver trusts. So a secret is stored only sealed with the server's key
(``LICENTIA_SECRET_KEY``, as the signing keys are), shown once at creation or
rotation, and opened in memory by the delivery worker to sign.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any

import sqlalchemy as sa
from cryptography.fernet import Fernet

from licentia.server.audit import AuditAction, record
from licentia.server.errors import ApiError, ErrorCode
from licentia.server.notify.sealing import SEALED_PREFIX as SEALED_PREFIX
from licentia.server.notify.sealing import open_value, seal_value
from licentia.server.notify.webhook_specs import WebhookChange, WebhookSpec
from licentia.server.store.tables import products, webhooks


@dataclass(frozen=True)
class CreatedWebhook:
    id: int
    # Shown once to the vendor, who configures their receiver with it.
    secret: str


@dataclass(frozen=True)
class WebhookView:
    id: int
    product: str | None  # a product's slug; None: every product
    url: str
    description: str | None
    events: tuple[str, ...]  # empty: every event
    active: bool
    created_at: dt.datetime
    updated_at: dt.datetime | None

    def as_json(self) -> dict[str, Any]:
        return view_json(self, when=dt.datetime.isoformat)


def view_json(view: Any, *, when: Callable[[dt.datetime], str]) -> dict[str, Any]:
    """A view's fields in their order as JSON values: times written by ``when``, tuples as lists."""
    shown: dict[str, Any] = {}
    for field in fields(view):
        value = getattr(view, field.name)
        if isinstance(value, dt.datetime):
            value = when(value)
        elif isinstance(value, tuple):
            value = list(value)
        shown[field.name] = value
    return shown


def new_webhook_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def seal_secret(secret: str, fernet: Fernet) -> str:
    return seal_value(secret, fernet)


def open_secret(stored: str, fernet: Fernet) -> str:
    """The secret to sign with (in memory only); a row from before sealing is returned as it is."""
    if not stored.startswith(SEALED_PREFIX):
        return stored
    return open_value(stored, fernet, what="the webhook's secret")


def seal_clear_secrets(conn: sa.Connection, fernet: Fernet) -> int:
    """Seal the secrets an older version stored in clear (when the upgrade had no key); return how many."""
    rows = conn.execute(
        sa.select(webhooks.c.id, webhooks.c.secret).where(sa.not_(webhooks.c.secret.startswith(SEALED_PREFIX)))
    ).all()
    for row in rows:
        conn.execute(webhooks.update().where(webhooks.c.id == row.id).values(secret=seal_secret(row.secret, fernet)))
    return len(rows)


def _product_id(conn: sa.Connection, slug: str | None) -> int | None:
    if not slug:
        return None
    found = conn.execute(sa.select(products.c.id).where(products.c.slug == slug)).scalar_one_or_none()
    if found is None:
        raise ApiError(ErrorCode.UNKNOWN_PRODUCT, f"no product named {slug!r}")
    return int(found)


def _changed(conn: sa.Connection) -> None:
    # This process sees the change at once; the others within the rules cache's few seconds.
    from licentia.server.notify.rules import rules_cache

    rules_cache.forget()


def create_webhook(
    conn: sa.Connection,
    spec: WebhookSpec,
    *,
    now: dt.datetime,
    fernet: Fernet,
    secret: str | None = None,
    actor: str = "system",
) -> CreatedWebhook:
    """Add an endpoint for ``spec.events`` (all when empty) of one product, or of every product when None."""
    product_id = _product_id(conn, spec.product)
    secret = secret or new_webhook_secret()
    webhook_id = conn.execute(
        webhooks.insert()
        .values(
            product_id=product_id,
            url=spec.url,
            secret=seal_secret(secret, fernet),
            topics=spec.events,
            active=True,
            created_at=now,
            updated_at=now,
            description=spec.description or None,
        )
        .returning(webhooks.c.id)
    ).scalar_one()
    record(conn, AuditAction.WEBHOOK_CREATE, webhook_id, actor=actor, now=now, product=spec.product, events=spec.events)
    _changed(conn)
    return CreatedWebhook(int(webhook_id), secret)


def get_webhook(conn: sa.Connection, webhook_id: int) -> WebhookView:
    found = list_webhooks(conn, webhook_id=webhook_id)
    if not found:
        raise ApiError(ErrorCode.UNKNOWN_WEBHOOK, f"no webhook endpoint {webhook_id}")
    return found[0]


def list_webhooks(conn: sa.Connection, *, webhook_id: int | None = None) -> list[WebhookView]:
    query = (
        sa.select(webhooks, products.c.slug)
        .select_from(webhooks.outerjoin(products, products.c.id == webhooks.c.product_id))
        .order_by(webhooks.c.id)
    )
    if webhook_id is not None:
        query = query.where(webhooks.c.id == webhook_id)
    return [
        WebhookView(
            id=r.id,
            product=r.slug,
            url=r.url,
            description=r.description,
            events=tuple(r.topics or ()),
            active=bool(r.active),
            created_at=r.created_at,
            updated_at=r.updated_at,
        )
        for r in conn.execute(query).all()
    ]


def update_webhook(
    conn: sa.Connection,
    webhook_id: int,
    change: WebhookChange,
    *,
    now: dt.datetime,
    fernet: Fernet,
    actor: str = "system",
) -> str | None:
    """Change what is given; return the new secret when ``change.rotate_secret`` (shown once), else None."""
    get_webhook(conn, webhook_id)
    values: dict[str, Any] = {"updated_at": now}
    if change.url is not None:
        values["url"] = change.url
    if change.events is not None:
        values["topics"] = change.events
    if change.description is not None:
        values["description"] = change.description or None
    if change.product_given:
        values["product_id"] = _product_id(conn, change.product)
    secret = None
    if change.rotate_secret:
        secret = new_webhook_secret()
        values["secret"] = seal_secret(secret, fernet)
    conn.execute(webhooks.update().where(webhooks.c.id == webhook_id).values(**values))
    changed = sorted(k if k != "topics" else "events" for k in values if k != "updated_at")
    record(conn, AuditAction.WEBHOOK_UPDATE, webhook_id, actor=actor, now=now, changed=changed)
    _changed(conn)
    return secret


def set_active(conn: sa.Connection, *, webhook_id: int, active: bool, now: dt.datetime, actor: str = "system") -> None:
    """Disable (nothing is queued for it, waiting deliveries give up) or enable an endpoint."""
    get_webhook(conn, webhook_id)
    conn.execute(webhooks.update().where(webhooks.c.id == webhook_id).values(active=active, updated_at=now))
    action = AuditAction.WEBHOOK_ENABLE if active else AuditAction.WEBHOOK_DISABLE
    record(conn, action, webhook_id, actor=actor, now=now)
    _changed(conn)


def delete_webhook(conn: sa.Connection, *, webhook_id: int, now: dt.datetime, actor: str = "system") -> None:
    """Remove an endpoint; its delivery log stays (the outbox rows name it by id)."""
    get_webhook(conn, webhook_id)
    conn.execute(webhooks.delete().where(webhooks.c.id == webhook_id))
    record(conn, AuditAction.WEBHOOK_DELETE, webhook_id, actor=actor, now=now)
    _changed(conn)


def signing_secret(conn: sa.Connection, *, webhook_id: int, fernet: Fernet) -> tuple[str, str]:
    """(url, secret) of an endpoint, the secret opened in memory to sign a test."""
    row = conn.execute(sa.select(webhooks.c.url, webhooks.c.secret).where(webhooks.c.id == webhook_id)).first()
    if row is None:
        raise ApiError(ErrorCode.UNKNOWN_WEBHOOK, f"no webhook endpoint {webhook_id}")
    return row.url, open_secret(row.secret, fernet)
