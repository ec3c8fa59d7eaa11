"""Minting and listing installer tickets (docs/evidence.md, "installer tickets").

A ticket is a document signed with the product's key, exactly as status
documents are: ``{"document": {...}, "kid": ..., "sig": ..., "endorsements": [...]}``.
Its document names the product, the ticket's opaque id, the release, customer
and license when known (opaque ids, never a name or an address: the file
travels with the installer, wherever a leak takes it), where it came from
(``vendor`` or ``portal``), the initial token (a random key and a usage of
zero, US 6,070,171 step (a)) and when it was issued. Only the token's SHA-256
is stored.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from cryptography.fernet import Fernet

from licentia.core.clock import to_iso
from licentia.server.audit import AuditAction, record
from licentia.server.errors import ApiError, ErrorCode, existing
from licentia.server.products.service import Keyring, current_key_row, get_product
from licentia.server.store.tables import customers, installer_tickets, licenses, products, releases, ticket_starts

TICKET_KIND = "installer_ticket"
TICKET_FILE = "licentia-ticket.json"
SOURCES = ("vendor", "portal")


@dataclass(frozen=True, slots=True)
class Download:
    """What one download was, as far as it is known: the ticket names it (opaque ids only)."""

    product: str
    version: str | None = None  # the release it carries
    customer_id: int | None = None
    license_id: int | None = None  # names its customer too
    source: str = "vendor"  # or "portal": a customer's own download


@dataclass(frozen=True, slots=True)
class Minted:
    id: str
    signed: bytes  # the file's content: the signed ticket, canonical JSON


def mint_ticket(conn: sa.Connection, download: Download, *, fernet: Fernet, actor: str, now: dt.datetime) -> Minted:
    """Sign, store and audit one ticket: what one download carries beside its installer."""
    product, version, license_id = download.product, download.version, download.license_id
    prod = get_product(conn, product)
    release = None
    if version:
        found = sa.select(releases.c.id, releases.c.version).where(
            releases.c.product_id == prod.id, releases.c.version == version
        )
        release = conn.execute(found.order_by(releases.c.id.desc()).limit(1)).first()
        release = existing(release, ErrorCode.UNKNOWN_RELEASE, f"{product} has no release {version!r}")
    customer_id = download.customer_id
    if license_id is not None:
        lic = conn.execute(
            sa.select(licenses.c.customer_id).where(licenses.c.id == license_id, licenses.c.product_id == prod.id)
        ).first()
        lic = existing(lic, ErrorCode.UNKNOWN_LICENSE, f"{product} has no license {license_id}")
        customer_id = customer_id if customer_id is not None else lic.customer_id
    if (
        customer_id is not None
        and not conn.execute(sa.select(customers.c.id).where(customers.c.id == customer_id)).first()
    ):
        raise ApiError(ErrorCode.UNKNOWN_CUSTOMER, f"no customer has the id {customer_id}")
    key = secrets.token_urlsafe(24)
    ticket_id = "it_" + secrets.token_hex(10)
    document: dict[str, Any] = {
        "kind": TICKET_KIND,
        "product": product,
        "ticket": ticket_id,
        "source": download.source,
        "token": {"key": key, "usage": 0},
        "issued_at": to_iso(now),
    }
    optional = {"release": release.version if release else None, "customer": customer_id, "license": license_id}
    document.update({name: value for name, value in optional.items() if value is not None})
    conn.execute(
        installer_tickets.insert().values(
            id=ticket_id,
            product_id=prod.id,
            release_id=release.id if release else None,
            version=release.version if release else None,
            customer_id=customer_id,
            license_id=license_id,
            source=download.source,
            token_hash=hashlib.sha256(key.encode()).hexdigest(),
            issued_at=now,
            issued_by=actor,
        )
    )
    record(
        conn,
        AuditAction.TICKET_MINT,
        product,
        actor=actor,
        now=now,
        ticket=ticket_id,
        source=download.source,
        **optional,
    )
    # Signed with the current key, carrying its endorsements (as status documents do).
    signer, chain = Keyring(fernet).signer(conn, prod.id, current_key_row(conn, prod.id).kid)
    return Minted(ticket_id, signer.sign(document, chain))


def mint_for_customer(
    conn: sa.Connection, *, release: Any, license_id: int, email: str, fernet: Fernet, now: dt.datetime
) -> Minted:
    """The ticket of one portal download: the release and license it was for (the customer by id, never the email)."""
    slug = conn.execute(sa.select(products.c.slug).where(products.c.id == release.product_id)).scalar_one()
    download = Download(slug, release.version, license_id=license_id, source="portal")
    return mint_ticket(conn, download, fernet=fernet, actor=f"customer:{email}", now=now)


def list_tickets(conn: sa.Connection, *, product: str | None = None, limit: int = 200) -> list[dict[str, Any]]:
    """The newest tickets first, each with how many installations started from it and how many were copies."""
    starts = (
        sa.select(
            ticket_starts.c.ticket_id,
            sa.func.count().label("installations"),
            sa.func.sum(sa.case((ticket_starts.c.copy, 1), else_=0)).label("copies"),
        )
        .group_by(ticket_starts.c.ticket_id)
        .subquery()
    )
    query = (
        sa.select(
            installer_tickets,
            products.c.slug.label("product"),
            sa.func.coalesce(starts.c.installations, 0).label("installations"),
            sa.func.coalesce(starts.c.copies, 0).label("copies"),
        )
        .join(products, products.c.id == installer_tickets.c.product_id)
        .outerjoin(starts, starts.c.ticket_id == installer_tickets.c.id)
        .order_by(installer_tickets.c.issued_at.desc(), installer_tickets.c.id)
        .limit(limit)
    )
    if product is not None:
        query = query.where(installer_tickets.c.product_id == get_product(conn, product).id)
    return [ticket_view(row) for row in conn.execute(query)]


_SHOWN = ("id", "product", "customer_id", "license_id", "source", "issued_by")


def ticket_view(row: Any) -> dict[str, Any]:
    counts = {"installations": int(row.installations), "copies": int(row.copies)}
    return {
        **{name: getattr(row, name) for name in _SHOWN},
        "release": row.version,
        "issued_at": to_iso(row.issued_at),
        **counts,
    }
