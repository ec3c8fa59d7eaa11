"""Sending a license's key to its customer again: "Resend key" on the admin's customer and license pages.

A key is kept two ways: its hash, the only lookup, and (since migration 0012)
sealed with the server's key (``notify.sealing``) for this alone. Resending
opens the sealed copy in memory and queues a new license email (the same text
and a freshly signed purchase certificate, as at issue) to the customer's
address on record, sealed again in the outbox like every key email.

Threat: a staff session that could send a key anywhere would leak it. So the
action chooses only *when*: the address is the customer's own, the key never
reaches a page, a log or the audit entry, and a viewer cannot do it (roles).

A key issued before 0012 exists only as a hash: it can be sent only while its
first email still waits in the outbox (with its own sealed copy); after that
the vendor reissues. A revoked key never activates again, so it is not sent.
"""

from __future__ import annotations

import datetime as dt
import enum
import re
import uuid
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from cryptography.fernet import Fernet

from licentia.core.status import LicenseState
from licentia.server.audit import AuditAction, record
from licentia.server.customers.emails import reply_to_for
from licentia.server.errors import ApiError, ErrorCode
from licentia.server.licenses.key_email import license_email_key, send_license_key
from licentia.server.notify.sealing import SEALED, SealBroken, open_value
from licentia.server.store.tables import customers, licenses, outbox, products

# Each rendered form carries a fresh id: a form sent twice (a double click, a reload of the POST)
# names the same email, which the outbox's dedupe key then holds once.
RESEND_ID = re.compile(r"[0-9a-f]{32}")


class Resent(enum.StrEnum):
    QUEUED = "queued"  # a new key email, from the kept key
    NUDGED = "nudged"  # a key email still waiting in the outbox goes out now
    ALREADY = "already"  # this form was sent before: nothing more is sent


@dataclass(frozen=True)
class Resend:
    outcome: Resent
    to: str  # the address the email goes to


def new_resend_id() -> str:
    return uuid.uuid4().hex


def resend_dedupe_key(license_id: int, resend_id: str) -> str:
    return f"{license_email_key(license_id)}:resend:{resend_id}"


def waiting_key_emails(conn: sa.Connection, license_ids: list[int]) -> list[Any]:
    """The key emails of these licenses (first or resent) not sent yet, whose key is still sealed in the row."""
    if not license_ids:
        return []
    names = [license_email_key(lid) for lid in license_ids]
    rows = conn.execute(
        sa.select(outbox.c.id, outbox.c.dedupe_key, outbox.c.payload).where(
            outbox.c.sent_at.is_(None),
            sa.or_(outbox.c.dedupe_key.in_(names), *(outbox.c.dedupe_key.startswith(f"{n}:resend:") for n in names)),
        )
    ).all()
    return [row for row in rows if SEALED in (row.payload or {})]


def license_of_email(dedupe_key: str) -> int:
    """The license id a key email's dedupe key names (``license-key:ID`` or ``license-key:ID:resend:...``)."""
    return int(dedupe_key.split(":")[1])


def resend_key(
    conn: sa.Connection,
    *,
    license_id: int,
    resend_id: str,
    actor: str,
    now: dt.datetime,
    fernet: Fernet,
    reply_default: str | None = None,
    customer_id: int | None = None,
) -> Resend:
    """Email the license's key to its customer again (or send now the key email that still waits).

    ``customer_id``, when given, must own the license (the customer page's form names both).
    """
    lic = conn.execute(
        sa.select(
            licenses.c.id,
            licenses.c.customer_id,
            licenses.c.product_id,
            licenses.c.state,
            licenses.c.key_prefix,
            licenses.c.key_sealed,
        ).where(licenses.c.id == license_id)
    ).first()
    if lic is None or (customer_id is not None and lic.customer_id != customer_id):
        owner = f"customer {customer_id} has" if customer_id is not None else "there is"
        raise ApiError(ErrorCode.UNKNOWN_LICENSE, f"{owner} no license {license_id}")
    if not RESEND_ID.fullmatch(resend_id):
        raise ApiError(ErrorCode.BAD_REQUEST, "The form is out of date: reload the page and send it again.")
    if lic.state == LicenseState.REVOKED.value:
        raise ApiError(
            ErrorCode.LICENSE_REVOKED,
            f"License {lic.key_prefix}… is revoked: its key never activates again, so it is not sent. "
            "Issue a new license if the customer should have one.",
            409,
        )
    customer = conn.execute(sa.select(customers).where(customers.c.id == lic.customer_id)).first()
    if customer is None or not customer.email:
        raise ApiError(ErrorCode.INVALID_EMAIL, f"License {lic.key_prefix}… has no customer to send its key to.")
    dedupe_key = resend_dedupe_key(license_id, resend_id)
    if conn.execute(sa.select(outbox.c.id).where(outbox.c.dedupe_key == dedupe_key)).first() is not None:
        return Resend(Resent.ALREADY, customer.email)

    waiting = waiting_key_emails(conn, [license_id])
    to_current = [row for row in waiting if (row.payload or {}).get("to") == [customer.email]]
    if to_current or (waiting and lic.key_sealed is None):
        # A key email still waits (SMTP was down or unset): send it now rather than queue a second one.
        # A license from before 0012 has no other way to its key, even if the customer's address changed.
        nudged = to_current or waiting
        conn.execute(
            outbox.update()
            .where(outbox.c.id.in_([row.id for row in nudged]))
            .values(next_attempt_at=now, claimed_until=None)
        )
        to = ", ".join(sorted({address for row in nudged for address in (row.payload or {}).get("to", [])}))
        _audit(conn, lic, actor=actor, now=now, to=to, sent="waiting email")
        return Resend(Resent.NUDGED, to)
    if lic.key_sealed is None:
        raise ApiError(
            ErrorCode.KEY_NOT_KEPT,
            f"License {lic.key_prefix}… was issued before license keys were kept, and its key email was sent: "
            "its key exists only hashed and cannot be sent again. Issue another license (and revoke this one) "
            "to give the customer a key.",
        )
    try:
        key = open_value(lic.key_sealed, fernet, what="the license's kept key")
    except SealBroken as exc:
        raise ApiError(
            ErrorCode.KEY_SEAL_BROKEN,
            f"The key of license {lic.key_prefix}… was kept sealed with another LICENTIA_SECRET_KEY than this "
            "server's: put that key back to resend it, or issue another license.",
        ) from exc
    product = conn.execute(sa.select(products.c.name).where(products.c.id == lic.product_id)).scalar_one()
    queued = send_license_key(
        conn,
        license_id=license_id,
        key=key,
        to=customer.email,
        customer_name=customer.name,
        product_name=product,
        now=now,
        dedupe_key=dedupe_key,
        fernet=fernet,
        reply_to=reply_to_for(conn, product_id=lic.product_id, default=reply_default),
    )
    if not queued:  # the same form, sent twice at once: the other request queued it
        return Resend(Resent.ALREADY, customer.email)
    _audit(conn, lic, actor=actor, now=now, to=customer.email, sent="new email")
    return Resend(Resent.QUEUED, customer.email)


def _audit(conn: sa.Connection, lic: Any, *, actor: str, now: dt.datetime, to: str, sent: str) -> None:
    record(
        conn, AuditAction.LICENSE_RESEND_KEY, lic.id, actor=actor, now=now, customer=lic.customer_id, to=to, sent=sent
    )
