"""Organisation licenses sold by a payment provider: the organisation a purchase makes, and its seat count.

A mapping marked ``organisation`` sells seats: the quantity bought is the
license's seats (its ``max_devices``), the buyer becomes the organisation's
owner (they sign in to the portal with the address they paid with, as every
customer does), and the license is the organisation's. An upgrade or a
downgrade of the quantity changes the seats.

A downgrade of a license of machines below the machines holding seats
follows the rule for lowered seats everywhere (``licenses.changes.set_max_devices``):
the machines bound keep their seats, new activations wait until enough are
freed; the organisation's owners and admins are told by email which to free.
A license of named users (``seat_unit = user``) cannot leave a person waiting
so: the most recently active people keep their seats, the others' are freed at
once and each is told by email (``users.service.shrink``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa

from licentia.server.audit import AuditAction, record
from licentia.server.customers import emails
from licentia.server.customers.terms import license_terms
from licentia.server.licenses.changes import set_max_devices
from licentia.server.notify.catalog import WebhookEvent
from licentia.server.organisations.announce import announce
from licentia.server.organisations.roles import OrgRole
from licentia.server.organisations.service import attach_license, create_organisation
from licentia.server.store.tables import devices, licenses, organisations, products
from licentia.server.store.tables import organisation_members as members
from licentia.server.users import service as users


def organise_purchase(
    conn: sa.Connection, *, license_id: int, email: str, name: str | None, seats: int, actor: str, now: dt.datetime
) -> int:
    """The organisation of a new seat purchase: named after the buyer, the buyer its owner, the license its."""
    email = email.strip().lower()
    made = create_organisation(conn, name=(name or email)[:200], actor=actor, now=now)
    conn.execute(
        members.insert().values(
            organisation_id=made, email=email, role=OrgRole.OWNER.value, invited_at=now, invited_by=actor,
            joined_at=now, invitation_hash=None, invitation_expires_at=None,
        )
    )  # fmt: skip
    record(conn, AuditAction.ORGANISATION_JOIN, made, actor=actor, now=now, email=email, role=OrgRole.OWNER.value)
    announce(
        conn, WebhookEvent.MEMBER_JOINED, organisation_id=made, now=now, cause=email,
        member={"email": email, "role": OrgRole.OWNER.value},
    )  # fmt: skip
    attach_license(conn, organisation_id=made, license_id=license_id, actor=actor, now=now)
    record(conn, AuditAction.ORGANISATION_SEATS, made, actor=actor, now=now, license_id=license_id, seats=seats)
    return made


def seats_of(conn: sa.Connection, license_row: Any) -> int | None:
    overrides = getattr(license_row, "policy_overrides", None) or {}
    value = overrides.get("max_devices")
    return int(value) if isinstance(value, int) else None


def resize(
    conn: sa.Connection, *, license_id: int, seats: int, actor: str, now: dt.datetime, reply_to: str | None
) -> str:
    """Make the organisation license's seats ``seats`` (an upgrade or a downgrade); what happened, in words."""
    row = conn.execute(sa.select(licenses).where(licenses.c.id == license_id)).one()
    previous = seats_of(conn, row)
    if previous == seats:
        return f"seats unchanged ({seats})"
    set_max_devices(conn, license_id=license_id, max_devices=seats, actor=actor, now=now)
    if row.organisation_id is not None:
        record(
            conn, AuditAction.ORGANISATION_SEATS, row.organisation_id, actor=actor, now=now, license_id=license_id,
            seats=seats, previous=previous,
        )  # fmt: skip
    if license_terms(conn, row).seat_unit == "user":
        freed = users.shrink(conn, license_id=license_id, seats=seats, actor=actor, now=now)
        _tell_freed(conn, row, freed, seats=seats, now=now, reply_to=reply_to)
        return f"seats {previous} -> {seats}" + (f" ({len(freed)} people's seats freed, each told)" if freed else "")
    in_use = int(
        conn.execute(
            sa.select(sa.func.count(sa.distinct(devices.c.machine_id))).where(devices.c.license_id == license_id)
        ).scalar_one()
    )
    if in_use > seats and row.organisation_id is not None:
        _tell_managers(conn, row, seats=seats, in_use=in_use, now=now, reply_to=reply_to)
    return f"seats {previous} -> {seats}" + (
        f" ({in_use} machines hold one: its admins are told)" if in_use > seats else ""
    )


def _tell_freed(
    conn: sa.Connection, row: Any, freed: list[str], *, seats: int, now: dt.datetime, reply_to: str | None
) -> None:
    if not freed or row.organisation_id is None:
        return
    org = conn.execute(sa.select(organisations.c.name).where(organisations.c.id == row.organisation_id)).scalar_one()
    product = conn.execute(sa.select(products.c.name).where(products.c.id == row.product_id)).scalar_one()
    body = emails.user_seat_freed_email(organisation=org, product_name=product, seats=seats)
    reply = emails.reply_to_for(conn, product_id=row.product_id, default=reply_to)
    for email in freed:
        key = f"user-seat-freed:{row.id}:{seats}:{email}:{now.isoformat()}"
        emails.send(conn, body, to=email, now=now, reply_to=reply, dedupe_key=key)


def _tell_managers(
    conn: sa.Connection, row: Any, *, seats: int, in_use: int, now: dt.datetime, reply_to: str | None
) -> None:
    org_id, product_id, license_id = row.organisation_id, row.product_id, row.id
    org = conn.execute(sa.select(organisations.c.name).where(organisations.c.id == org_id)).scalar_one()
    product = conn.execute(sa.select(products.c.name).where(products.c.id == product_id)).scalar_one()
    managers = conn.execute(
        sa.select(members.c.email).where(
            members.c.organisation_id == org_id,
            members.c.role.in_([OrgRole.OWNER.value, OrgRole.ADMIN.value]),
            members.c.joined_at.is_not(None),
        )
    ).scalars()
    body = emails.seats_reduced_email(organisation=org, product_name=product, seats=seats, in_use=in_use)
    reply = emails.reply_to_for(conn, product_id=product_id, default=reply_to)
    for email in managers:
        key = f"seats:{license_id}:{seats}:{email}:{now.isoformat()}"
        emails.send(conn, body, to=email, now=now, reply_to=reply, dedupe_key=key)
