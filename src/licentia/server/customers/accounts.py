"""Customer sign-in by a one-time link sent by email, and customer sessions.

Threats and answers:
- account discovery: asking for a link answers the same words whether or not
  the address has licenses, and does the same writes (a link row is stored for
  any address; only an address with licenses is emailed);
- mail-bombing and guessing: links are rate-limited per address and per
  network in the database (every worker sees one count); a network that
  presents too many dead links is locked out of redeeming for the hour;
- stolen database or logs: a link's token and a session's id are 256-bit
  random strings stored only as SHA-256 (sessions as the admins' are:
  ``store.sessions``), so neither a copied table nor an outbox row (masked
  once sent) signs anybody in;
- forwarded or leaked links: a link lives ``portal_link_minutes`` and works
  once; a mail scanner that follows the link only sees a button (the link is
  spent by the POST, not by the GET).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

import sqlalchemy as sa

from licentia.server.audit import AuditAction, record
from licentia.server.ratelimit import hit, peek
from licentia.server.store.sessions import end_session, live_session, open_session, purge_expired
from licentia.server.store.tables import (
    customers,
    license_users,
    licenses,
    organisation_members,
    portal_sessions,
    products,
    signin_links,
)

# Dead links (unknown, spent or expired) a network may present per hour before it is locked out.
MAX_DEAD_LINKS_PER_NETWORK = 20


@dataclass(frozen=True)
class SignedInCustomer:
    """A portal session: the customer is their email address, nothing more."""

    email: str
    csrf_token: str

    @property
    def label(self) -> str:
        return f"customer:{self.email}"


@dataclass(frozen=True)
class NewSession:
    session_id: str  # the cookie value; only its hash is stored
    email: str


class LinkRefused(Exception):
    """The link is unknown, spent or expired; or this network presented too many such links."""

    def __init__(self, message: str, *, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def normalize_email(text: str) -> str | None:
    email = text.strip().lower()
    if "@" not in email or len(email) > 320 or any(c.isspace() for c in email):
        return None
    return email


def has_licenses(conn: sa.Connection, email: str) -> bool:
    """The address may sign in: a license's customer, a user seat's holder (``license_users``, the vendor
    named them) or a member (or invitee) of an organisation."""
    owns = (
        sa.select(licenses.c.id)
        .join(customers, customers.c.id == licenses.c.customer_id)
        .where(sa.func.lower(customers.c.email) == email)
        .limit(1)
    )
    seated = sa.select(license_users.c.id).where(license_users.c.email == email, license_users.c.freed_at.is_(None))
    invited = sa.select(organisation_members.c.id).where(organisation_members.c.email == email)
    return any(conn.execute(query.limit(1)).first() is not None for query in (owns, seated, invited))


def product_names(conn: sa.Connection, email: str) -> list[str]:
    """The products the address holds licenses (or user seats) of, by name (the sign-in email names them)."""
    owned = (
        sa.select(products.c.name)
        .join(licenses, licenses.c.product_id == products.c.id)
        .join(customers, customers.c.id == licenses.c.customer_id)
        .where(sa.func.lower(customers.c.email) == email)
    )
    seated = (
        sa.select(products.c.name)
        .join(licenses, licenses.c.product_id == products.c.id)
        .join(license_users, license_users.c.license_id == licenses.c.id)
        .where(license_users.c.email == email, license_users.c.freed_at.is_(None))
    )
    return sorted(set(conn.execute(owned).scalars()) | set(conn.execute(seated).scalars()))


@dataclass(frozen=True)
class LinkRequest:
    """What asking for a link did: a token to email (known address), nothing, or a wait."""

    token: str | None = None
    retry_after: int | None = None


def request_link(
    conn: sa.Connection,
    *,
    email: str,
    network: str,
    now: dt.datetime,
    lifetime: dt.timedelta,
    per_address: int,
    per_network: int,
) -> LinkRequest:
    """Store a new link for ``email`` and return its clear token if the address has licenses."""
    buckets = ((f"portal_link:addr:{email}", per_address), (f"portal_link:net:{network}", per_network))
    for bucket, limit in buckets:
        wait = peek(conn, bucket, now, limit=limit)
        if wait is not None:
            return LinkRequest(retry_after=wait)
    for bucket, _ in buckets:
        hit(conn, bucket, now)
    token = secrets.token_urlsafe(32)
    conn.execute(
        signin_links.insert().values(
            token_hash=digest(token), email=email, created_at=now, expires_at=now + lifetime, used_at=None
        )
    )
    conn.execute(signin_links.delete().where(signin_links.c.expires_at < now - dt.timedelta(days=1)))
    return LinkRequest(token=token if has_licenses(conn, email) else None)


def redeem_link(
    conn: sa.Connection, *, token: str, network: str, now: dt.datetime, lifetime: dt.timedelta
) -> NewSession | LinkRefused:
    """Spend the link and open a session; the refusal is returned (not raised) so its count commits."""
    bucket = f"portal_dead_link:net:{network}"
    wait = peek(conn, bucket, now, limit=MAX_DEAD_LINKS_PER_NETWORK)
    if wait is not None:
        return LinkRefused("Too many expired or unknown links from your network; try again later.", retry_after=wait)
    # Spent atomically: of two concurrent redemptions only one updates the row.
    spent = conn.execute(
        signin_links.update()
        .where(
            signin_links.c.token_hash == digest(token),
            signin_links.c.used_at.is_(None),
            signin_links.c.expires_at > now,
        )
        .values(used_at=now)
        .returning(signin_links.c.email)
    ).first()
    if spent is None or not has_licenses(conn, spent.email):
        hit(conn, bucket, now)
        return LinkRefused("This sign-in link has expired or was already used. Ask for a new one below.")
    new = open_session(conn, portal_sessions, now=now, lifetime=lifetime, email=spent.email)
    purge_expired(conn, portal_sessions, now)
    record(conn, AuditAction.PORTAL_SIGN_IN, spent.email, actor=f"customer:{spent.email}", now=now)
    return NewSession(new.session_id, spent.email)


def open_sso_session(
    conn: sa.Connection, *, email: str, connection_id: int, now: dt.datetime, lifetime: dt.timedelta
) -> NewSession:
    """The session a spent link gives, for an address the organisation's identity provider vouched for (``sso``).

    Unlike a link, no licenses are needed: the provider proved who this is, and what they see is what their
    address holds (nothing, if nothing)."""
    new = open_session(conn, portal_sessions, now=now, lifetime=lifetime, email=email)
    purge_expired(conn, portal_sessions, now)
    record(
        conn,
        AuditAction.PORTAL_SIGN_IN,
        email,
        actor=f"customer:{email}",
        now=now,
        method="sso",
        connection=connection_id,
    )
    return NewSession(new.session_id, email)


def current_customer(conn: sa.Connection, *, session_id: str, now: dt.datetime) -> SignedInCustomer | None:
    row = conn.execute(
        sa.select(portal_sessions.c.email, portal_sessions.c.csrf_token).where(
            live_session(portal_sessions, session_id, now)
        )
    ).first()
    return None if row is None else SignedInCustomer(row.email, row.csrf_token)


def sign_out(conn: sa.Connection, *, session_id: str) -> None:
    end_session(conn, portal_sessions, session_id)
