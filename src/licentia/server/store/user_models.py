"""Named users on a license, and the device authorizations that sign an application's user in.

On a license whose type counts users (``policies.seat_unit`` = ``user``) a seat
is a person, known by their email address: ``license_users`` holds one row per
person named on the license (who holds, or may take, a seat), kept when freed. An installation bound to such a license
names its user (``devices.user_email``); one person's machines share their seat.

``device_authorizations`` are the OAuth 2.0 device authorization grants
(RFC 8628) an application asks for: only the SHA-256 of the device code is
kept (a copied table polls for nobody); the short user code is typed by a
person into the portal, so guessing it is rate-limited there.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from licentia.server.store.models import Base


class LicenseUser(Base):
    """A person named on a license (``freed_at`` None), holding one of its seats once ``seated_at`` is set.

    The vendor names people with a seat at once, or to take one at their first
    sign-in while one is free; the license's customer needs no row to sign in.
    """

    __tablename__ = "license_users"
    __table_args__ = (sa.UniqueConstraint("license_id", "email", name="uq_license_users_license_email"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    license_id: Mapped[int] = mapped_column(sa.ForeignKey("licenses.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(sa.String(320), index=True)
    assigned_at: Mapped[dt.datetime]
    # "vendor:<admin>", "api:<token>", "customer:<email>" (the license's customer signing in), "sign-in".
    assigned_by: Mapped[str] = mapped_column(sa.String(200))
    seated_at: Mapped[dt.datetime | None]
    last_active_at: Mapped[dt.datetime | None]
    freed_at: Mapped[dt.datetime | None]
    freed_by: Mapped[str | None] = mapped_column(sa.String(200))


class DeviceAuthorization(Base):
    """One device authorization request (RFC 8628): pending, approved, denied or used; it expires."""

    __tablename__ = "device_authorizations"

    id: Mapped[int] = mapped_column(primary_key=True)
    device_code_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    # The code a person types, without its dash, unique while pending (checked when one is made).
    user_code: Mapped[str] = mapped_column(sa.String(16), index=True)
    product_id: Mapped[int] = mapped_column(sa.ForeignKey("products.id", ondelete="CASCADE"))
    # The installation that asked: only it may poll, and it is what the approval binds.
    device_id: Mapped[str] = mapped_column(sa.ForeignKey("devices.id", ondelete="CASCADE"), index=True)
    state: Mapped[str] = mapped_column(sa.String(16), default="pending")
    created_at: Mapped[dt.datetime]
    expires_at: Mapped[dt.datetime]
    interval_seconds: Mapped[int]
    last_polled_at: Mapped[dt.datetime | None]
    email: Mapped[str | None] = mapped_column(sa.String(320))
    license_id: Mapped[int | None] = mapped_column(sa.ForeignKey("licenses.id", ondelete="SET NULL"))
    decided_at: Mapped[dt.datetime | None]
