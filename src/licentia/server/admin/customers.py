"""A customer as the vendor's support desk sees them: licenses, machines, orders, emails, and two actions.

"Resend key" can only send again a key email whose sealed copy is still in the
outbox (queued or failing): once sent, the key exists nowhere but hashed (a
stolen database must not yield keys), so the page says so and offers to issue
another license instead.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa

from licentia.server.admin.lists import purchases, seat_limit, seats_used
from licentia.server.admin.service import customers, devices, licenses, policies, products
from licentia.server.audit import record
from licentia.server.errors import ApiError, ErrorCode
from licentia.server.notify.sealing import SEALED
from licentia.server.store.models import OutboxMessage, table_of

outbox = table_of(OutboxMessage)
SHOWN = 200


def license_email_key(license_id: int) -> str:
    """The outbox dedupe key of a license's key email (see ``licenses.changes.issue_and_email``)."""
    return f"license-key:{license_id}"


def customer_detail(conn: sa.Connection, customer_id: int) -> dict[str, Any] | None:
    customer = conn.execute(sa.select(customers).where(customers.c.id == customer_id)).first()
    if customer is None:
        return None
    owned = conn.execute(
        sa.select(
            licenses,
            products.c.slug.label("product_slug"),
            policies.c.name.label("policy_name"),
            seats_used().label("devices_used"),
            seat_limit().label("seat_limit"),
        )
        .join(products, products.c.id == licenses.c.product_id)
        .join(policies, policies.c.id == licenses.c.policy_id)
        .where(licenses.c.customer_id == customer_id)
        .order_by(licenses.c.id.desc())
    ).all()
    license_ids = [row.id for row in owned]
    installations = (
        conn.execute(
            sa.select(devices, licenses.c.key_prefix)
            .join(licenses, licenses.c.id == devices.c.license_id)
            .where(devices.c.license_id.in_(license_ids))
            .order_by(devices.c.last_seen.desc())
            .limit(SHOWN)
        ).all()
        if license_ids
        else []
    )
    orders = conn.execute(
        sa.select(purchases, products.c.slug.label("product_slug"))
        .join(products, products.c.id == purchases.c.product_id)
        .where(purchases.c.customer_id == customer_id)
        .order_by(purchases.c.purchased_at.desc())
    ).all()
    # Emails are found by the address they went to; the stored text of a key email holds only the key's mask.
    to_text = sa.cast(outbox.c.payload["to"], sa.Text)
    emails = conn.execute(
        sa.select(
            outbox.c.id,
            outbox.c.topic,
            outbox.c.payload["subject"].as_string().label("subject"),
            outbox.c.created_at,
            outbox.c.sent_at,
            outbox.c.attempts,
            outbox.c.last_error,
            outbox.c.dedupe_key,
        )
        .where(outbox.c.channel == "email", to_text.contains(f'"{customer.email}"', autoescape=True))
        .order_by(outbox.c.id.desc())
        .limit(SHOWN)
    ).all()
    pending_keys = {row.dedupe_key for row in emails if row.sent_at is None}
    return {
        "customer": customer,
        "licenses": owned,
        "installations": installations,
        "machines": len({row.machine_id for row in installations}),
        "last_activity": max((row.last_seen for row in installations if row.last_seen), default=None),
        "orders": orders,
        "emails": emails,
        "pending_key_emails": {lid for lid in license_ids if license_email_key(lid) in pending_keys},
    }


def resend_key(conn: sa.Connection, *, customer_id: int, license_id: int, actor: str, now: dt.datetime) -> None:
    """Send the license's key email again now, if its sealed copy is still queued."""
    owned = conn.execute(
        sa.select(licenses.c.id).where(licenses.c.id == license_id, licenses.c.customer_id == customer_id)
    ).first()
    if owned is None:
        raise ApiError(ErrorCode.UNKNOWN_LICENSE, f"customer {customer_id} has no license {license_id}")
    mail = conn.execute(sa.select(outbox).where(outbox.c.dedupe_key == license_email_key(license_id))).first()
    if mail is None or mail.sent_at is not None or SEALED not in (mail.payload or {}):
        raise ApiError(
            ErrorCode.KEY_NOT_KEPT,
            "The key was already sent and is kept only hashed, so it cannot be sent again. "
            "Issue another license and revoke this one if the customer lost it.",
        )
    conn.execute(outbox.update().where(outbox.c.id == mail.id).values(next_attempt_at=now, claimed_until=None))
    record(
        conn,
        actor=actor,
        action="license.resend_key",
        target_type="license",
        target_id=license_id,
        now=now,
        customer=customer_id,
    )
