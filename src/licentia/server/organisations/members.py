"""An organisation's members: invitations by email, accepting them, roles, removal and leaving.

Threats and answers:
- a forwarded or leaked invitation: it joins only the address it was sent to
  (the portal session must be that address's, signed in by its own emailed
  link), works once and lives ``INVITATION_DAYS``;
- a stolen table or outbox: the token is stored only as SHA-256, and the
  outbox row keeps the link sealed until the email is sent (``customers.emails``);
- a member raising themselves: every change goes through ``roles`` (who may
  change whom, and the owner an organisation always keeps).
Each change is audited (staff and customers alike) and announced to webhooks.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import sqlalchemy as sa
from cryptography.fernet import Fernet

from licentia.server.audit import AuditAction, record
from licentia.server.customers import emails
from licentia.server.customers.accounts import digest, normalize_email
from licentia.server.errors import ApiError, ErrorCode
from licentia.server.notify.catalog import WebhookEvent
from licentia.server.organisations.announce import announce
from licentia.server.organisations.roles import OrgRole, decide_change, decide_invitation, decide_leaving
from licentia.server.store.tables import organisation_members as members
from licentia.server.store.tables import organisations

INVITATION_DAYS = 7


@dataclass(frozen=True)
class Mailer:
    """What an invitation email needs: the portal's address, the vendor's reply-to, the key sealing the link."""

    base_url: str
    reply_to: str | None
    fernet: Fernet

    @classmethod
    def of(cls, settings: Any, fernet: Fernet) -> Mailer:
        return cls(settings.base_url.rstrip("/"), settings.customer_reply_to, fernet)


def organisation_row(conn: sa.Connection, organisation_id: int) -> Any:
    row = conn.execute(sa.select(organisations).where(organisations.c.id == organisation_id)).first()
    if row is None:
        raise ApiError(ErrorCode.UNKNOWN_ORGANISATION, "no such organisation")
    return row


def member_row(conn: sa.Connection, organisation_id: int, email: str) -> Any:
    row = conn.execute(
        sa.select(members).where(members.c.organisation_id == organisation_id, members.c.email == email.lower())
    ).first()
    if row is None:
        raise ApiError(ErrorCode.UNKNOWN_MEMBER, f"{email} is neither a member of this organisation nor invited")
    return row


def _other_owners(conn: sa.Connection, organisation_id: int, email: str) -> int:
    return int(
        conn.execute(
            sa.select(sa.func.count()).where(
                members.c.organisation_id == organisation_id,
                members.c.role == OrgRole.OWNER.value,
                members.c.joined_at.is_not(None),
                members.c.email != email,
            )
        ).scalar_one()
    )


def _address(text: str) -> str:
    email = normalize_email(text)
    if email is None:
        raise ApiError(ErrorCode.INVALID_EMAIL, "not an email address")
    return email


def invite(
    conn: sa.Connection,
    *,
    organisation_id: int,
    email: str,
    role: OrgRole,
    actor: str,
    by: OrgRole | None,
    now: dt.datetime,
    mailer: Mailer,
) -> str:
    """Invite ``email`` as ``role`` (again: a pending invitation gets a new token, the old one dies); the token."""
    org = organisation_row(conn, organisation_id)
    email = _address(email)
    decide_invitation(by, role)
    token = secrets.token_urlsafe(32)
    pending = {
        "role": role.value,
        "invited_at": now,
        "invited_by": actor,
        "invitation_hash": digest(token),
        "invitation_expires_at": now + dt.timedelta(days=INVITATION_DAYS),
    }
    existing = conn.execute(
        sa.select(members).where(members.c.organisation_id == organisation_id, members.c.email == email)
    ).first()
    if existing is not None and existing.joined_at is not None:
        raise ApiError(ErrorCode.ALREADY_MEMBER, f"{email} is already a member of this organisation")
    if existing is not None:
        decide_change(by, current=OrgRole(existing.role), new=role, joined=False, other_owners=0)
        conn.execute(members.update().where(members.c.id == existing.id).values(**pending))
    else:
        conn.execute(members.insert().values(organisation_id=organisation_id, email=email, joined_at=None, **pending))
    link = f"{mailer.base_url}/portal/invitation?token={quote(token)}"
    said = emails.invitation_email(organisation=org.name, role=role.value, link=link, days=INVITATION_DAYS)
    emails.send_signin_link(
        conn, to=email, email=said, link=link, now=now, reply_to=mailer.reply_to, fernet=mailer.fernet,
        mask="[invitation link]",
    )  # fmt: skip
    record(conn, AuditAction.ORGANISATION_INVITE, organisation_id, actor=actor, now=now, email=email, role=role.value)
    announce(
        conn, WebhookEvent.MEMBER_INVITED, organisation_id=organisation_id, now=now,
        cause=f"{email}:{now.isoformat()}", member={"email": email, "role": role.value},
    )  # fmt: skip
    return token


@dataclass(frozen=True)
class Invitation:
    """What an invitation link shows before it is accepted (nothing is spent by looking)."""

    organisation_id: int
    organisation: str
    email: str
    role: str


def _pending(conn: sa.Connection, token: str, now: dt.datetime) -> Any:
    row = conn.execute(
        sa.select(members, organisations.c.name.label("organisation"))
        .join(organisations, organisations.c.id == members.c.organisation_id)
        .where(members.c.invitation_hash == digest(token))
    ).first()
    if row is None or row.joined_at is not None or row.invitation_expires_at <= now:
        raise ApiError(
            ErrorCode.INVITATION_INVALID,
            "This invitation has expired, was already used or was withdrawn. Ask the organisation for a new one.",
        )
    return row


def invitation(conn: sa.Connection, *, token: str, now: dt.datetime) -> Invitation:
    row = _pending(conn, token, now)
    return Invitation(row.organisation_id, row.organisation, row.email, row.role)


def accept(conn: sa.Connection, *, token: str, email: str, now: dt.datetime) -> Invitation:
    """Join the organisation: only as the invited address, once, before the invitation expires."""
    row = _pending(conn, token, now)
    if row.email != email.lower():
        raise ApiError(
            ErrorCode.INVITATION_OTHER_ADDRESS,
            "This invitation is for another email address. Sign out, then sign in with the address it was sent to.",
        )
    # Spent atomically: of two concurrent acceptances only one updates the row.
    spent = conn.execute(
        members.update()
        .where(members.c.id == row.id, members.c.invitation_hash == digest(token), members.c.joined_at.is_(None))
        .values(joined_at=now, invitation_hash=None, invitation_expires_at=None)
    ).rowcount
    if spent != 1:
        raise ApiError(ErrorCode.INVITATION_INVALID, "This invitation was already used.")
    record(
        conn, AuditAction.ORGANISATION_JOIN, row.organisation_id, actor=f"customer:{row.email}", now=now,
        email=row.email, role=row.role,
    )  # fmt: skip
    announce(
        conn, WebhookEvent.MEMBER_JOINED, organisation_id=row.organisation_id, now=now, cause=row.email,
        member={"email": row.email, "role": row.role},
    )  # fmt: skip
    return Invitation(row.organisation_id, row.organisation, row.email, row.role)


def change_role(
    conn: sa.Connection,
    *,
    organisation_id: int,
    email: str,
    role: OrgRole,
    actor: str,
    by: OrgRole | None,
    now: dt.datetime,
) -> OrgRole:
    """Make a member (or an invitation) ``role``; the previous role."""
    organisation_row(conn, organisation_id)
    row = member_row(conn, organisation_id, email)
    previous = OrgRole(row.role)
    if previous is role:
        return previous
    joined = row.joined_at is not None
    decide_change(
        by, current=previous, new=role, joined=joined, other_owners=_other_owners(conn, organisation_id, row.email)
    )
    conn.execute(members.update().where(members.c.id == row.id).values(role=role.value))
    record(
        conn, AuditAction.ORGANISATION_ROLE, organisation_id, actor=actor, now=now, email=row.email,
        role=role.value, previous=previous.value,
    )  # fmt: skip
    announce(
        conn, WebhookEvent.MEMBER_ROLE_CHANGED, organisation_id=organisation_id, now=now,
        cause=f"{row.email}:{role.value}:{now.isoformat()}",
        member={"email": row.email, "role": role.value, "previous_role": previous.value},
    )  # fmt: skip
    return previous


def remove(
    conn: sa.Connection, *, organisation_id: int, email: str, actor: str, by: OrgRole | None, now: dt.datetime
) -> None:
    """Take a member out of the organisation (or withdraw their invitation)."""
    organisation_row(conn, organisation_id)
    row = member_row(conn, organisation_id, email)
    joined = row.joined_at is not None
    others = _other_owners(conn, organisation_id, row.email)
    decide_change(by, current=OrgRole(row.role), new=None, joined=joined, other_owners=others)
    _drop(conn, row, action=AuditAction.ORGANISATION_REMOVE, actor=actor, now=now)


def leave(conn: sa.Connection, *, organisation_id: int, email: str, now: dt.datetime) -> None:
    """The signed-in member leaves the organisation."""
    row = member_row(conn, organisation_id, email)
    if row.joined_at is None:
        raise ApiError(ErrorCode.UNKNOWN_ORGANISATION, "no such organisation")
    decide_leaving(OrgRole(row.role), other_owners=_other_owners(conn, organisation_id, row.email))
    _drop(conn, row, action=AuditAction.ORGANISATION_LEAVE, actor=f"customer:{row.email}", now=now)


def _drop(conn: sa.Connection, row: Any, *, action: AuditAction, actor: str, now: dt.datetime) -> None:
    conn.execute(members.delete().where(members.c.id == row.id))
    record(conn, action, row.organisation_id, actor=actor, now=now, email=row.email, role=row.role)
    announce(
        conn, WebhookEvent.MEMBER_REMOVED, organisation_id=row.organisation_id, now=now,
        cause=f"{row.email}:{now.isoformat()}",
        member={"email": row.email, "role": row.role, "left": action is AuditAction.ORGANISATION_LEAVE},
    )  # fmt: skip
