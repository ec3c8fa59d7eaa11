"""The customer portal's tables: one-time sign-in links and customer sessions.

A customer is known by their email address: the portal shows every license
whose customer has that address (a vendor may have several customer rows for
one address, one per purchase), and nothing else.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from licentia.server.store.models import Base


class PortalSignInLink(Base):
    """A link emailed to sign in once; only the SHA-256 of its token is kept (a copied table signs nobody in)."""

    __tablename__ = "portal_signin_links"

    token_hash: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(320), index=True)
    created_at: Mapped[dt.datetime]
    expires_at: Mapped[dt.datetime] = mapped_column(index=True)
    used_at: Mapped[dt.datetime | None]


class PortalSession(Base):
    """A signed-in customer; the cookie holds the id, the table its SHA-256 (as admin sessions)."""

    __tablename__ = "portal_sessions"

    id_hash: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(320), index=True)
    csrf_token: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[dt.datetime]
    expires_at: Mapped[dt.datetime] = mapped_column(index=True)
