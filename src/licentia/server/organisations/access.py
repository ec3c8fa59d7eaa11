"""What a signed-in portal address may reach through its organisations.

The portal's only identity is an email address. Through a joined membership
(never a pending invitation) it reaches the organisation's licenses: owners and
admins manage them (machines, members); members read them. Everything here is
scoped by the address: an organisation or license of which it is no member
answers "not found", the same as one that does not exist (threat: a member of
one organisation walking ids to read another's).

Members see "the licenses assigned to them": the licenses bought with their own
address (``customers.service``), their organisations' licenses of machines, and
those of named users that name them (``license_users``), read-only
(:func:`assigned_licenses`, and ``customers.terms.assigned_to`` for one license).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from licentia.server.customers.terms import assigned_to
from licentia.server.errors import ApiError, ErrorCode
from licentia.server.organisations.roles import OrgRole
from licentia.server.store.tables import licenses, organisations
from licentia.server.store.tables import organisation_members as members


@dataclass(frozen=True)
class Membership:
    organisation_id: int
    name: str
    role: OrgRole

    @property
    def manages(self) -> bool:
        return self.role.manages


def memberships(conn: sa.Connection, email: str) -> list[Membership]:
    rows = conn.execute(
        sa.select(organisations.c.id, organisations.c.name, members.c.role)
        .join(members, members.c.organisation_id == organisations.c.id)
        .where(members.c.email == email.lower(), members.c.joined_at.is_not(None))
        .order_by(organisations.c.name, organisations.c.id)
    ).all()
    return [Membership(r.id, r.name, OrgRole(r.role)) for r in rows]


def membership(conn: sa.Connection, *, organisation_id: int, email: str) -> Membership:
    """The address's joined membership, else ``unknown_organisation`` (the same for another's and for none)."""
    for found in memberships(conn, email):
        if found.organisation_id == organisation_id:
            return found
    raise ApiError(ErrorCode.UNKNOWN_ORGANISATION, "no such organisation in your account")


def managing(conn: sa.Connection, *, organisation_id: int, email: str) -> Membership:
    """The membership of an owner or admin (a member sees, never manages)."""
    found = membership(conn, organisation_id=organisation_id, email=email)
    if not found.manages:
        raise ApiError(ErrorCode.ORGANISATION_ROLE_FORBIDDEN, "only the organisation's owners and admins manage it")
    return found


def license_membership(conn: sa.Connection, *, license_id: int, email: str) -> Membership | None:
    """The address's membership in the organisation holding the license, if any."""
    held_by = conn.execute(sa.select(licenses.c.organisation_id).where(licenses.c.id == license_id)).scalar()
    if held_by is None:
        return None
    return next((m for m in memberships(conn, email) if m.organisation_id == held_by), None)


def assigned_licenses(conn: sa.Connection, membership: Membership, email: str) -> list[Any]:
    """The organisation's licenses the address sees in the portal: all of them for its owners and admins; for a
    member, those of machines and those of named users that name the member."""
    rows = conn.execute(
        sa.select(licenses).where(licenses.c.organisation_id == membership.organisation_id).order_by(licenses.c.id)
    ).all()
    return [row.id for row in rows if membership.manages or assigned_to(conn, row, email.lower())]
