"""Test mode: a product whose applications' posts are kept apart, echoed back and emailed to the vendor.

While the vendor wires the SDK into a new application, every post it makes
(check, activate, deactivate) should show what it carries without becoming a
trial, a seat or a suspected copy. A product in test mode answers each post
with the post itself as stored (and what the server saw of it), keeps it in
``test_posts`` and nowhere else, and emails it to the product's test address
through the outbox. No device, event, machine or seat is written, so nothing
of it reaches the dashboard, the rollups, the seat counts or an evidence
report: counts need no filter to leave test posts out.

A license key in a post is kept masked in ``test_posts``; the emailed copy
carries it sealed with the server's key until the email is sent, as every
queued email does (``notify.sealing``). The answer gives the post back whole:
the caller sent it.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import sqlalchemy as sa
from cryptography.fernet import Fernet

from licentia.core.clock import to_iso
from licentia.core.licensekeys import masked
from licentia.server.audit import AuditAction, record
from licentia.server.fields import Email, checked
from licentia.server.notify.outbox import enqueue_email
from licentia.server.store.tables import products, test_posts

# Rows a product's page and the CLI list, newest first.
LISTED = 50
TOPIC = "test_post"


def set_test_mode(
    conn: sa.Connection, *, product_id: int, on: bool, email: str | None, actor: str, now: dt.datetime
) -> None:
    """Turn a product's test mode on or off, and set where its test posts are emailed (none: not emailed)."""
    address: str | None = checked(Email, email.strip(), field="test_email") if email and email.strip() else None
    conn.execute(products.update().where(products.c.id == product_id).values(test_mode=on, test_email=address))
    record(conn, AuditAction.PRODUCT_TEST_MODE, product_id, actor=actor, now=now, test_mode=on, test_email=address)


def _masked(body: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """The post as kept at rest (its license key masked), and the key with its mask, sealed in the email."""
    key = body.get("key")
    if not isinstance(key, str) or not key:
        return body, {}
    return {**body, "key": masked(key)}, {key: masked(key)}


def record_test_post(
    conn: sa.Connection,
    *,
    product: str,
    action: str,
    body: dict[str, Any],
    server_facts: dict[str, Any],
    now: dt.datetime,
    fernet: Fernet,
) -> dict[str, Any]:
    """Keep one post of a product in test mode (the status check read its mode) and queue its email; returns
    the answer echoing it."""
    columns = (products.c.id, products.c.name, products.c.test_email, products.c.collect_facts)
    row = conn.execute(sa.select(*columns).where(products.c.slug == product)).one()
    # As in production: with client facts off, none is kept or emailed (the answer still shows what came).
    body_kept = body if row.collect_facts else {k: v for k, v in body.items() if k != "facts"}
    kept, secrets = _masked(body_kept)
    values = {"product_id": row.id, "received_at": now, "action": action, "body": kept, "server_facts": server_facts}
    post_id = conn.execute(test_posts.insert().values(**values).returning(test_posts.c.id)).scalar_one()
    echoed = {"id": post_id, "product": product, "action": action, "received_at": to_iso(now)}
    if row.test_email:
        shown = json.dumps({**echoed, "body": body_kept, "server": server_facts}, indent=2, ensure_ascii=False)
        enqueue_email(
            conn,
            to=[row.test_email],
            subject=f"[test mode] {row.name}: {action} #{post_id}",
            text=f"A post from {row.name} in test mode, as stored (nothing of it counts):\n\n{shown}\n",
            topic=TOPIC,
            now=now,
            secrets=secrets,
            fernet=fernet,
        )
    return {"test_mode": True, "post": {**echoed, "body": body, "server": server_facts}, "emailed_to": row.test_email}


def posts_in_test_mode(conn: sa.Connection, *, product_id: int, limit: int = LISTED) -> list[dict[str, Any]]:
    """The product's latest test posts, newest first, as its page and the CLI show them."""
    rows = conn.execute(
        sa.select(test_posts)
        .where(test_posts.c.product_id == product_id)
        .order_by(test_posts.c.received_at.desc(), test_posts.c.id.desc())
        .limit(limit)
    ).all()
    return [
        {
            "id": r.id,
            "received_at": to_iso(r.received_at),
            "action": r.action,
            "body": r.body,
            "server": r.server_facts,
        }
        for r in rows
    ]
