"""What a verified provider event means for licenses, the same for every provider.

Each provider module turns its verified events into one of these facts:
:class:`Paid` (an order or a subscription payment), :class:`Cancelled`,
:class:`Refunded`, or :class:`Ignored`. :func:`apply` then changes licenses:

- a first payment creates the customer and the license and emails the key
  (``issue_and_email``); any later payment for the same order or subscription
  extends the license to the paid period's end (a renewal) and says so;
- a cancellation ends the license at the end of the period paid for;
- a full refund suspends or revokes the license, as its mapping says;
- a mapping that sells seats to organisations makes an organisation license of
  the quantity bought, and a change of quantity (:class:`Resized`, or a payment
  of another quantity) changes its seats (``organisations.seats``).

Idempotency: the provider's event id is stored in ``payment_events`` in the
same transaction as the change, so a re-delivered or replayed event changes
nothing. Orders are found again by any of their provider references
(``payment_links``), so events of one order arriving in any order make one
license.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from cryptography.fernet import Fernet
from sqlalchemy.dialects import postgresql, sqlite

from licentia.core.status import LicenseState
from licentia.server.audit import AuditAction, record
from licentia.server.customers import emails
from licentia.server.licenses.changes import change_state, issue_and_email
from licentia.server.licenses.schemas import LicenseOrder
from licentia.server.notify.catalog import WebhookEvent, license_event
from licentia.server.organisations import seats
from licentia.server.payments.mapping import OnRefund, find_mapping
from licentia.server.store.tables import customers, licenses, payment_events, payment_links, products
from licentia.server.store.tables import payment_mappings as mappings
from licentia.server.store.tables import payment_trials as trials

log = logging.getLogger("licentia.server.payments")


@dataclass(frozen=True)
class Paid:
    # Every id the provider uses for this order (order, subscription, payment, invoice); the first names the purchase.
    references: list[str]
    items: list[str]  # the provider's product and price ids bought, in order
    email: str | None
    name: str | None = None
    paid_until: dt.datetime | None = None  # a subscription's paid period end
    renewal: bool = False  # a recurring payment (not the first one)
    customer_ref: str | None = None  # the provider's customer id, to look the email up when the event lacks it
    trial_until: dt.datetime | None = None  # a subscription that starts with a free trial ending then
    lines_ref: str | None = None  # a Stripe Checkout session whose line items the event did not carry
    quantity: int | None = None  # units bought: an organisation license's seats (mapping ``organisation``)


@dataclass(frozen=True)
class Cancelled:
    references: list[str]
    ends_at: dt.datetime | None


@dataclass(frozen=True)
class Refunded:
    references: list[str]
    full: bool = True


@dataclass(frozen=True)
class Resized:
    """A subscription's quantity changed (an upgrade or a downgrade of an organisation's seats)."""

    references: list[str]
    quantity: int


@dataclass(frozen=True)
class Ignored:
    why: str


Fact = Paid | Cancelled | Refunded | Resized | Ignored


@dataclass(frozen=True)
class ProviderEvent:
    provider: str
    event_id: str
    kind: str
    facts: list[Fact] = field(default_factory=list)


Reader = Callable[[dict[str, Any]], Fact]


def read_event(provider: str, event_id: str, kind: str, data: Any, readers: Mapping[str, Reader]) -> ProviderEvent:
    """The event's fact, read by the provider's reader for ``kind``; other kinds are acknowledged and ignored."""
    reader = readers.get(kind)
    if reader is None or not isinstance(data, dict):
        return ProviderEvent(provider, event_id, kind, [Ignored(f"{kind or 'unknown'} events are not used")])
    return ProviderEvent(provider, event_id, kind, [reader(data)])


@dataclass(frozen=True)
class Outcome:
    duplicate: bool
    outcome: str
    license_id: int | None = None


def _claim_event(conn: sa.Connection, event: ProviderEvent, now: dt.datetime) -> int | None:
    """Insert the event's row; None if this event id was already handled (a re-delivery or a replay)."""
    ins = (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(payment_events)
    stmt = ins.values(
        provider=event.provider, event_id=event.event_id, kind=event.kind[:64], received_at=now, outcome="pending"
    ).on_conflict_do_nothing(index_elements=["provider", "event_id"])
    row = conn.execute(stmt.returning(payment_events.c.id)).first()
    return None if row is None else int(row.id)


def _linked_license(conn: sa.Connection, provider: str, references: list[str]) -> Any:
    refs = [r for r in references if r]
    if not refs:
        return None
    return conn.execute(
        sa.select(licenses, payment_links.c.mapping_id)
        .join(payment_links, payment_links.c.license_id == licenses.c.id)
        .where(payment_links.c.provider == provider, payment_links.c.reference.in_(refs))
        .limit(1)
    ).first()


def _link(
    conn: sa.Connection, provider: str, references: list[str], license_id: int, mapping_id: Any, now: Any
) -> None:
    known = set(
        conn.execute(
            sa.select(payment_links.c.reference).where(
                payment_links.c.provider == provider, payment_links.c.reference.in_(references)
            )
        ).scalars()
    )
    for ref in dict.fromkeys(r for r in references if r and r not in known):
        conn.execute(
            payment_links.insert().values(
                provider=provider, reference=ref[:200], license_id=license_id, mapping_id=mapping_id, created_at=now
            )
        )


def _customer_of(conn: sa.Connection, license_row: Any) -> Any:
    return conn.execute(
        sa.select(customers.c.email, customers.c.name, products.c.name.label("product_name"))
        .select_from(licenses)
        .join(products, products.c.id == licenses.c.product_id)
        .outerjoin(customers, customers.c.id == licenses.c.customer_id)
        .where(licenses.c.id == license_row.id)
    ).one()


def _paid(
    conn: sa.Connection, provider: str, fact: Paid, now: dt.datetime, reply_default: str | None, fernet: Fernet
) -> Outcome:
    actor = f"payments:{provider}"
    found = _linked_license(conn, provider, fact.references)
    if found is not None:
        _link(conn, provider, fact.references, found.id, found.mapping_id, now)
        if fact.quantity is not None and found.organisation_id is not None:
            seats.resize(conn, license_id=found.id, seats=fact.quantity, actor=actor, now=now, reply_to=reply_default)
        if fact.renewal:
            # The first paid period after a trial: nothing left to remind of.
            conn.execute(trials.delete().where(trials.c.license_id == found.id))
        if fact.paid_until is None or (found.expires_at is not None and found.expires_at >= fact.paid_until):
            return Outcome(False, "already licensed", found.id)
        if found.state == LicenseState.REVOKED.value:
            return Outcome(False, "license revoked: not renewed", found.id)
        values: dict[str, Any] = {"expires_at": fact.paid_until, "updated_at": now}
        if found.state == LicenseState.EXPIRED.value:
            values["state"] = LicenseState.ACTIVE.value
        conn.execute(licenses.update().where(licenses.c.id == found.id).values(**values))
        license_event(conn, WebhookEvent.LICENSE_RENEWED, license_id=found.id, now=now, cause=f"paid:{fact.paid_until}")
        record(
            conn,
            AuditAction.LICENSE_RENEW,
            found.id,
            actor=actor,
            now=now,
            previous=found.expires_at.isoformat() if found.expires_at else None,
            expires_at=fact.paid_until.isoformat(),
        )
        if fact.renewal:
            who = _customer_of(conn, found)
            if who.email:
                reply_to = emails.reply_to_for(conn, product_id=found.product_id, default=reply_default)
                body = emails.renewal_email(name=who.name, product_name=who.product_name, expires_at=fact.paid_until)
                emails.send(
                    conn,
                    body,
                    to=who.email,
                    now=now,
                    reply_to=reply_to,
                    dedupe_key=f"renewal:{found.id}:{fact.paid_until.isoformat()}",
                )
        return Outcome(False, "renewed", found.id)

    mapping = find_mapping(conn, provider=provider, external_ids=fact.items)
    if mapping is None:
        log.warning("%s order %s: none of %s is mapped to a product", provider, fact.references[:1], fact.items)
        return Outcome(False, f"unmapped: {', '.join(fact.items)[:150] or 'no item ids'}")
    if not fact.email:
        return Outcome(False, "no customer email in the order")
    expires_at = fact.paid_until
    if expires_at is None and mapping.duration_days:
        expires_at = now + dt.timedelta(days=mapping.duration_days)
    # Not validated as a vendor's request: the provider's facts go to the service's own checks
    # (email, knobs, expiry), as they always did; a refused order would be retried by the provider forever.
    # A mapping that sells seats to organisations: the quantity bought is the seats.
    sold_seats = max(fact.quantity or 1, 1) if mapping.organisation else None
    order = LicenseOrder.model_construct(
        product=mapping.product,
        email=fact.email.strip(),
        name=fact.name,
        max_devices=sold_seats or mapping.max_devices,
        expires_at=expires_at if expires_at is None or expires_at > now else None,
        features=list(mapping.features or []),
        order_ref=fact.references[0][:200],
        source=provider,
        policy=mapping.policy_name,  # the mapped license type; None: the product's default
    )
    reply_to = emails.reply_to_for(conn, product_id=mapping.product_id, default=reply_default)
    # fernet keeps the key sealed, so staff can resend it.
    issued = issue_and_email(
        conn, order, actor=actor, now=now, fernet=fernet, reply_to=reply_to, policy_id=mapping.policy_id
    )
    _link(conn, provider, fact.references, issued.id, mapping.id, now)
    if sold_seats is not None:
        seats.organise_purchase(
            conn, license_id=issued.id, email=fact.email, name=fact.name, seats=sold_seats, actor=actor, now=now
        )
    if fact.trial_until is not None and fact.trial_until > now:
        conn.execute(trials.insert().values(license_id=issued.id, ends_at=fact.trial_until, reminded_at=None))
    return Outcome(False, "license issued", issued.id)


def _cancelled(
    conn: sa.Connection, provider: str, fact: Cancelled, now: dt.datetime, reply_default: str | None
) -> Outcome:
    found = _linked_license(conn, provider, fact.references)
    if found is None:
        return Outcome(False, "cancellation of an unknown order")
    ends_at = max(fact.ends_at or now, now)
    if found.expires_at is not None and found.expires_at <= ends_at:
        return Outcome(False, "already ends by then", found.id)
    conn.execute(licenses.update().where(licenses.c.id == found.id).values(expires_at=ends_at, updated_at=now))
    record(
        conn,
        AuditAction.LICENSE_CANCEL,
        found.id,
        actor=f"payments:{provider}",
        now=now,
        previous=found.expires_at.isoformat() if found.expires_at else None,
        ends_at=ends_at.isoformat(),
    )
    who = _customer_of(conn, found)
    if who.email:
        reply_to = emails.reply_to_for(conn, product_id=found.product_id, default=reply_default)
        body = emails.cancellation_email(name=who.name, product_name=who.product_name, ends_at=ends_at)
        emails.send(conn, body, to=who.email, now=now, reply_to=reply_to, dedupe_key=f"cancelled:{found.id}")
    return Outcome(False, "ends at period end", found.id)


def _resized(conn: sa.Connection, provider: str, fact: Resized, now: dt.datetime, reply_default: str | None) -> Outcome:
    found = _linked_license(conn, provider, fact.references)
    if found is None:
        return Outcome(False, "seat change of an unknown order")
    if found.organisation_id is None:
        return Outcome(False, "not an organisation license: seats unchanged", found.id)
    if fact.quantity < 1:
        return Outcome(False, "no seat left: cancel the subscription instead", found.id)
    said = seats.resize(
        conn, license_id=found.id, seats=fact.quantity, actor=f"payments:{provider}", now=now, reply_to=reply_default
    )
    return Outcome(False, said, found.id)


def _refunded(conn: sa.Connection, provider: str, fact: Refunded, now: dt.datetime) -> Outcome:
    found = _linked_license(conn, provider, fact.references)
    if found is None:
        return Outcome(False, "refund of an unknown order")
    if not fact.full:
        return Outcome(False, "partial refund: license unchanged", found.id)
    on_refund: str = OnRefund.REVOKE
    if found.mapping_id is not None:
        on_refund = (
            conn.execute(sa.select(mappings.c.on_refund).where(mappings.c.id == found.mapping_id)).scalar() or on_refund
        )
    if found.state == LicenseState.REVOKED.value or (on_refund == OnRefund.SUSPEND and found.state == "suspended"):
        return Outcome(False, f"already {found.state}", found.id)
    change_state(conn, license_id=found.id, action=on_refund, actor=f"payments:{provider}", now=now)
    return Outcome(False, "revoked" if on_refund == OnRefund.REVOKE else "suspended", found.id)


def apply(
    conn: sa.Connection, event: ProviderEvent, *, now: dt.datetime, fernet: Fernet, reply_to: str | None = None
) -> Outcome:
    """Apply one verified provider event exactly once."""
    row_id = _claim_event(conn, event, now)
    if row_id is None:
        return Outcome(True, "already handled")
    results: list[Outcome] = []
    for fact in event.facts:
        if isinstance(fact, Paid):
            results.append(_paid(conn, event.provider, fact, now, reply_to, fernet))
        elif isinstance(fact, Cancelled):
            results.append(_cancelled(conn, event.provider, fact, now, reply_to))
        elif isinstance(fact, Refunded):
            results.append(_refunded(conn, event.provider, fact, now))
        elif isinstance(fact, Resized):
            results.append(_resized(conn, event.provider, fact, now, reply_to))
        else:
            results.append(Outcome(False, f"ignored: {fact.why}"))
    outcome = "; ".join(r.outcome for r in results) or "ignored: nothing to do"
    license_id = next((r.license_id for r in results if r.license_id is not None), None)
    conn.execute(
        payment_events.update()
        .where(payment_events.c.id == row_id)
        .values(outcome=outcome[:200], license_id=license_id)
    )
    return Outcome(False, outcome, license_id)
