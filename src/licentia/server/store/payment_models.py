"""Payment providers' tables: product mappings, the events seen, and what each order became.

No provider secret is stored here: signing secrets are settings (see
``licentia.server.settings``), so a copied database cannot forge an order.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from licentia.server.store.models import Base


class PaymentMapping(Base):
    """A provider's product or price id -> the Licentia product and license type it sells."""

    __tablename__ = "payment_mappings"
    __table_args__ = (sa.UniqueConstraint("provider", "external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    provider: Mapped[str] = mapped_column(sa.String(16))
    external_id: Mapped[str] = mapped_column(sa.String(200))
    product_id: Mapped[int] = mapped_column(sa.ForeignKey("products.id", ondelete="CASCADE"), index=True)
    # The license type (policy) licenses are issued under; None: the product's default.
    policy_id: Mapped[int | None] = mapped_column(sa.ForeignKey("policies.id", ondelete="SET NULL"))
    max_devices: Mapped[int | None]
    # For one-time purchases: days until the license expires (None: perpetual).
    # Subscriptions follow the provider's billing period instead.
    duration_days: Mapped[int | None]
    features: Mapped[list[Any]] = mapped_column(default=list)
    on_refund: Mapped[str] = mapped_column(sa.String(16), default="revoke")
    # True: each unit bought is a seat of an organisation license (the buyer its owner); None or False: a person's.
    organisation: Mapped[bool | None]
    created_at: Mapped[dt.datetime]


class PaymentEvent(Base):
    """Every provider event handled, by the provider's own event id: a re-delivery changes nothing."""

    __tablename__ = "payment_events"
    __table_args__ = (sa.UniqueConstraint("provider", "event_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    provider: Mapped[str] = mapped_column(sa.String(16))
    event_id: Mapped[str] = mapped_column(sa.String(200))
    kind: Mapped[str] = mapped_column(sa.String(64))
    received_at: Mapped[dt.datetime]
    outcome: Mapped[str] = mapped_column(sa.String(200))
    license_id: Mapped[int | None] = mapped_column(sa.ForeignKey("licenses.id", ondelete="SET NULL"))


class PaymentLink(Base):
    """A provider's reference (order, subscription, payment) -> the license it paid for."""

    __tablename__ = "payment_links"
    __table_args__ = (sa.UniqueConstraint("provider", "reference"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    provider: Mapped[str] = mapped_column(sa.String(16))
    reference: Mapped[str] = mapped_column(sa.String(200))
    license_id: Mapped[int] = mapped_column(sa.ForeignKey("licenses.id", ondelete="CASCADE"), index=True)
    mapping_id: Mapped[int | None] = mapped_column(sa.ForeignKey("payment_mappings.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime]


class CustomerEmailSettings(Base):
    """Per product: the reply-to of customer emails and the optional trial-ending reminder."""

    __tablename__ = "customer_email_settings"

    product_id: Mapped[int] = mapped_column(sa.ForeignKey("products.id", ondelete="CASCADE"), primary_key=True)
    reply_to: Mapped[str | None] = mapped_column(sa.String(320))
    # Days before a subscription's trial ends to remind the customer (None: no reminder).
    trial_reminder_days: Mapped[int | None]


class PaymentTrial(Base):
    """A subscription in its free trial: when it ends, and when the customer was reminded."""

    __tablename__ = "payment_trials"

    license_id: Mapped[int] = mapped_column(sa.ForeignKey("licenses.id", ondelete="CASCADE"), primary_key=True)
    ends_at: Mapped[dt.datetime] = mapped_column(index=True)
    reminded_at: Mapped[dt.datetime | None]
