"""Organisations as the vendor manages them: create, rename, list, read, and the licenses they hold.

Services take a sync ``Connection`` so the developer API, the CLI, the admin UI
and the payment webhooks share one implementation; every change is audited
and announced to webhooks in the transaction of the change.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import sqlalchemy as sa
from pydantic import StringConstraints

from licentia.server.audit import AuditAction, record
from licentia.server.errors import ApiError, ErrorCode
from licentia.server.fields import checked
from licentia.server.notify.catalog import WebhookEvent
from licentia.server.organisations.announce import announce
from licentia.server.organisations.members import Mailer, invite, organisation_row
from licentia.server.organisations.roles import OrgRole
from licentia.server.store.tables import customers, licenses, organisations, products
from licentia.server.store.tables import organisation_members as members

OrganisationName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


def create_organisation(
    conn: sa.Connection,
    *,
    name: str,
    actor: str,
    now: dt.datetime,
    owner: str | None = None,
    mailer: Mailer | None = None,
) -> int:
    """A new organisation; ``owner`` (an address) is invited as its owner (``mailer`` sends the invitation)."""
    name = checked(OrganisationName, name, field="name")
    made = conn.execute(
        organisations.insert()
        .values(name=name, created_at=now, created_by=actor, updated_at=now)
        .returning(organisations.c.id)
    ).scalar_one()
    record(conn, AuditAction.ORGANISATION_CREATE, made, actor=actor, now=now, name=name, owner=owner)
    announce(conn, WebhookEvent.ORGANISATION_CREATED, organisation_id=made, now=now, cause="created")
    if owner is not None:
        if mailer is None:
            raise ValueError("inviting the owner needs a mailer")
        invite(
            conn, organisation_id=made, email=owner, role=OrgRole.OWNER, actor=actor, by=None, now=now, mailer=mailer
        )
    return int(made)


def rename_organisation(conn: sa.Connection, *, organisation_id: int, name: str, actor: str, now: dt.datetime) -> None:
    row = organisation_row(conn, organisation_id)
    name = checked(OrganisationName, name, field="name")
    if name == row.name:
        return
    conn.execute(organisations.update().where(organisations.c.id == row.id).values(name=name, updated_at=now))
    record(conn, AuditAction.ORGANISATION_RENAME, row.id, actor=actor, now=now, name=name, previous=row.name)


def attach_license(
    conn: sa.Connection, *, organisation_id: int | None, license_id: int, actor: str, now: dt.datetime
) -> None:
    """Make the license the organisation's (None: no organisation's); its owners and admins then manage it."""
    row = conn.execute(sa.select(licenses.c.id, licenses.c.organisation_id).where(licenses.c.id == license_id)).first()
    if row is None:
        raise ApiError(ErrorCode.UNKNOWN_LICENSE, f"no license {license_id}")
    if organisation_id is not None:
        organisation_row(conn, organisation_id)
    if row.organisation_id == organisation_id:
        return
    conn.execute(
        licenses.update().where(licenses.c.id == license_id).values(organisation_id=organisation_id, updated_at=now)
    )
    if row.organisation_id is not None:
        record(
            conn, AuditAction.ORGANISATION_LICENSE, row.organisation_id, actor=actor, now=now,
            license_id=license_id, attached=False,
        )  # fmt: skip
    if organisation_id is not None:
        record(
            conn, AuditAction.ORGANISATION_LICENSE, organisation_id, actor=actor, now=now,
            license_id=license_id, attached=True,
        )  # fmt: skip


def detach_license(conn: sa.Connection, *, organisation_id: int, license_id: int, actor: str, now: dt.datetime) -> None:
    """The license is no organisation's any more (its customer keeps it); refused for another organisation's."""
    held_by = conn.execute(sa.select(licenses.c.organisation_id).where(licenses.c.id == license_id)).first()
    if held_by is None or held_by.organisation_id != organisation_id:
        raise ApiError(ErrorCode.UNKNOWN_LICENSE, f"organisation {organisation_id} holds no license {license_id}")
    attach_license(conn, organisation_id=None, license_id=license_id, actor=actor, now=now)


def _member(row: Any) -> dict[str, Any]:
    return {
        "email": row.email,
        "role": row.role,
        "invited_at": row.invited_at,
        "invited_by": row.invited_by,
        "joined_at": row.joined_at,
        "pending": row.joined_at is None,
    }


def organisation_members(conn: sa.Connection, organisation_id: int) -> list[dict[str, Any]]:
    order = (sa.case((members.c.role == "owner", 0), (members.c.role == "admin", 1), else_=2), members.c.email)
    rows = conn.execute(sa.select(members).where(members.c.organisation_id == organisation_id).order_by(*order)).all()
    return [_member(r) for r in rows]


def organisation_licenses(conn: sa.Connection, organisation_id: int) -> list[dict[str, Any]]:
    rows = conn.execute(
        sa.select(
            licenses.c.id,
            licenses.c.key_prefix,
            licenses.c.state,
            licenses.c.expires_at,
            products.c.slug.label("product"),
            products.c.name.label("product_name"),
            customers.c.email.label("customer_email"),
        )
        .join(products, products.c.id == licenses.c.product_id)
        .outerjoin(customers, customers.c.id == licenses.c.customer_id)
        .where(licenses.c.organisation_id == organisation_id)
        .order_by(licenses.c.id)
    ).all()
    return [dict(r._mapping) for r in rows]


def organisation_view(conn: sa.Connection, *, organisation_id: int) -> dict[str, Any]:
    row = organisation_row(conn, organisation_id)
    return {
        "id": row.id,
        "name": row.name,
        "created_at": row.created_at,
        "created_by": row.created_by,
        "members": organisation_members(conn, row.id),
        "licenses": organisation_licenses(conn, row.id),
    }


def list_organisations(conn: sa.Connection, *, search: str = "") -> list[dict[str, Any]]:
    """Every organisation with its counts, newest first; ``search`` matches its name or a member's address."""
    member_count = sa.select(sa.func.count()).where(members.c.organisation_id == organisations.c.id).scalar_subquery()
    license_count = sa.select(sa.func.count()).where(licenses.c.organisation_id == organisations.c.id).scalar_subquery()
    query = sa.select(
        organisations.c.id,
        organisations.c.name,
        organisations.c.created_at,
        member_count.label("members"),
        license_count.label("licenses"),
    ).order_by(organisations.c.id.desc())
    if search.strip():
        like = f"%{search.strip().lower()}%"
        by_member = sa.select(members.c.organisation_id).where(members.c.email.like(like))
        query = query.where(sa.or_(sa.func.lower(organisations.c.name).like(like), organisations.c.id.in_(by_member)))
    return [dict(r._mapping) for r in conn.execute(query.limit(500)).all()]
