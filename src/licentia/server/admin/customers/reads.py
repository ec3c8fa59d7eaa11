"""A customer as the vendor's support desk sees them: licenses, machines, orders, emails, and two actions.

"Resend key" emails a license's key to the customer again (``licenses.resend``):
from the key kept sealed since migration 0012, or, for a license issued before
it, only while its first key email still waits in the outbox. The page never
shows a key, and never reads the sealed copy: it only knows whether one is kept.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from licentia.server.licenses.resend import Resend, Resent, license_of_email, waiting_key_emails
from licentia.server.licenses.seats import seat_limit, seats_used
from licentia.server.store.tables import customers, devices, licenses, outbox, policies, products, purchases

SHOWN = 200
# Every column of a license but its sealed key: what a page may hold.
SHOWN_COLUMNS = [column for column in licenses.c if column.name != "key_sealed"]


def customer_detail(conn: sa.Connection, customer_id: int) -> dict[str, Any] | None:
    customer = conn.execute(sa.select(customers).where(customers.c.id == customer_id)).first()
    if customer is None:
        return None
    owned = conn.execute(
        sa.select(
            *SHOWN_COLUMNS,
            licenses.c.key_sealed.is_not(None).label("key_kept"),
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
    # A lineage is one installation: one replaced by a reinstall holding the same seat is folded under it.
    successor = devices.alias("successor")
    folded = sa.exists().where(
        successor.c.id == devices.c.superseded_by, successor.c.license_id == devices.c.license_id
    )
    installations = (
        conn.execute(
            sa.select(devices, licenses.c.key_prefix)
            .join(licenses, licenses.c.id == devices.c.license_id)
            .where(devices.c.license_id.in_(license_ids), sa.or_(devices.c.superseded_by.is_(None), ~folded))
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
    return {
        "customer": customer,
        "licenses": owned,
        "installations": installations,
        "machines": len({row.machine_id for row in installations}),
        "last_activity": max((row.last_seen for row in installations if row.last_seen), default=None),
        "orders": orders,
        "emails": emails,
        # Licenses whose key email still waits: "Resend key" sends it now (and works for old licenses).
        "pending_key_emails": {license_of_email(row.dedupe_key) for row in waiting_key_emails(conn, license_ids)},
    }


def resend_message(resent: Resend, *, smtp_configured: bool) -> str:
    """What the page says after "Resend key" (the key itself is never on a page)."""
    waits = "" if smtp_configured else " It waits in the outbox until SMTP is set up."
    if resent.outcome is Resent.ALREADY:
        return f"That key email to {resent.to} was queued already: nothing more is sent."
    if resent.outcome is Resent.NUDGED:
        return f"The key email waiting for {resent.to} goes out now.{waits}"
    return f"A new key email to {resent.to} is queued.{waits}"
