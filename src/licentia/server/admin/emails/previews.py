"""What each customer email looks like, rendered with sample data, for the admin UI's previews.

The previews call the very functions that compose the emails that are sent
(``notify.license_email``, ``portal.emails``), with the product's name and the
reply-to its customers' answers go to, so what the vendor sees is what the
customer gets. Nothing is queued or stored.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa

from licentia.core.licensekeys import generate_key
from licentia.server.licenses.key_email import license_email_body
from licentia.server.store.tables import products

SAMPLE_NAME = "Ada Lovelace"
SAMPLE_SIGNIN_LINK = "https://licenses.vendor.example/portal/signin/sample-one-time-token"
SAMPLE_PRODUCT = "Your Product"


@dataclass(frozen=True)
class Preview:
    name: str  # the template's id in URLs
    title: str
    sent_when: str
    subject: str
    text: str
    html: str


@dataclass(frozen=True)
class PreviewSet:
    product_name: str
    product_slug: str | None
    reply_to: str | None
    previews: tuple[Preview, ...]

    def get(self, name: str) -> Preview | None:
        return next((p for p in self.previews if p.name == name), None)


def preview_set(
    conn: sa.Connection, *, product: str | None, default_reply_to: str | None, link_minutes: int, now: dt.datetime
) -> PreviewSet:
    """Every customer email for ``product`` (a slug; the first product when None)."""
    from licentia.server.customers import emails

    query = sa.select(products.c.id, products.c.slug, products.c.name).order_by(products.c.id)
    if product:
        query = query.where(products.c.slug == product)
    row = conn.execute(query.limit(1)).first()
    name = row.name if row is not None else SAMPLE_PRODUCT
    reply_to = emails.reply_to_for(conn, product_id=row.id if row else None, default=default_reply_to)
    subject, text, body_html = license_email_body(customer_name=SAMPLE_NAME, product_name=name, key=generate_key())
    renewal = emails.renewal_email(name=SAMPLE_NAME, product_name=name, expires_at=now + dt.timedelta(days=365))
    cancellation = emails.cancellation_email(name=SAMPLE_NAME, product_name=name, ends_at=now + dt.timedelta(days=20))
    trial = emails.trial_ending_email(name=SAMPLE_NAME, product_name=name, ends_at=now + dt.timedelta(days=3), days=3)
    signin = emails.signin_email(link=SAMPLE_SIGNIN_LINK, minutes=link_minutes)
    previews = (
        Preview("license", "License key", "when a license is issued with its email", subject, text, body_html),
        Preview("renewal", "Renewal", "when a payment renews a license", renewal.subject, renewal.text, renewal.html),
        Preview(
            "cancellation",
            "Cancellation",
            "when a subscription is cancelled",
            cancellation.subject,
            cancellation.text,
            cancellation.html,
        ),
        Preview(
            "signin",
            "Portal sign-in link",
            "when a customer asks to sign in to the portal",
            signin.subject,
            signin.text,
            signin.html,
        ),
        Preview(
            "trial-ending",
            "Trial ending",
            "days before a paid subscription's trial ends (the product's reminder setting)",
            trial.subject,
            trial.text,
            trial.html,
        ),
    )
    return PreviewSet(name, row.slug if row else None, reply_to, previews)
