"""Single sign-on: the vendor's OpenID Connect connections and the sign-in attempts in flight (docs/sso.md).

A connection's client secret is kept sealed with the server's key (``sealed:v1:``, as webhook secrets are); an
attempt is found by the SHA-256 of its ``state`` and spent once, so a copied table starts no sign-in and a
callback replayed finds nothing to spend.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from licentia.server.store.models import Base


class SsoConnection(Base):
    __tablename__ = "sso_connections"

    id: Mapped[int] = mapped_column(primary_key=True)
    purpose: Mapped[str] = mapped_column(sa.String(16), index=True)  # "admin" (the admin UI) or "portal"
    # The organisation whose people sign in to the portal through it (a portal connection may name none).
    organisation_id: Mapped[int | None] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(100))  # shown on the button: "Sign in with <name>"
    issuer: Mapped[str] = mapped_column(sa.String(500))
    client_id: Mapped[str] = mapped_column(sa.String(500))
    client_secret_sealed: Mapped[str] = mapped_column(sa.Text)
    # Lowercase domains, space-separated: the portal refuses an email outside them (admin: empty means any).
    email_domains: Mapped[str] = mapped_column(sa.Text, default="")
    # Admin connections only: the role of an admin created at first sign-in; None: no account is ever created.
    new_admin_role: Mapped[str | None] = mapped_column(sa.String(16))
    created_at: Mapped[dt.datetime]
    created_by: Mapped[str] = mapped_column(sa.String(200))


class SsoAttempt(Base):
    """A sign-in sent to an identity provider and not back yet: what its answer must match."""

    __tablename__ = "sso_attempts"

    state_hash: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    connection_id: Mapped[int] = mapped_column(sa.ForeignKey("sso_connections.id", ondelete="CASCADE"), index=True)
    # SHA-256 of the random value in the browser's cookie: the answer must come back to the browser that left.
    browser_hash: Mapped[str] = mapped_column(sa.String(64))
    nonce: Mapped[str] = mapped_column(sa.String(64))
    verifier_sealed: Mapped[str] = mapped_column(sa.Text)  # the PKCE code verifier, sealed
    next_page: Mapped[str] = mapped_column(sa.String(500), default="")
    created_at: Mapped[dt.datetime]
    expires_at: Mapped[dt.datetime] = mapped_column(index=True)
    used_at: Mapped[dt.datetime | None]
