"""Managing the admins (owners only): roles, disabling, removal; never leaving the server without an owner.

Threat: locking everyone out, or an owner account taken over demoting the
others. The last active owner cannot be demoted, disabled or removed, checked
under the write lock of the change (the rows are re-read in its transaction).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa

from licentia.server.audit import AuditAction, record
from licentia.server.auth.roles import Role, valid_role
from licentia.server.errors import ApiError, ErrorCode, existing
from licentia.server.store.tables import admin_sessions as sessions
from licentia.server.store.tables import admin_users as users


@dataclass(frozen=True)
class AdminView:
    id: int
    email: str
    role: str
    active: bool
    second_factor: bool
    recovery_codes_left: int
    created_at: dt.datetime
    locked_until: dt.datetime | None


def list_admins(conn: sa.Connection) -> list[AdminView]:
    rows = conn.execute(sa.select(users).order_by(users.c.email)).all()
    return [
        AdminView(
            id=r.id,
            email=r.email,
            role=r.role,
            active=bool(r.is_active),
            second_factor=r.totp_enabled_at is not None,
            recovery_codes_left=len(r.recovery_hashes or []),
            created_at=r.created_at,
            locked_until=r.locked_until,
        )
        for r in rows
    ]


def admin_by_email(conn: sa.Connection, email: str) -> sa.Row:  # type: ignore[type-arg]
    row = conn.execute(sa.select(users).where(users.c.email == email.strip().lower())).first()
    return existing(row, ErrorCode.UNKNOWN_ADMIN, f"no admin {email}")


def _admin(conn: sa.Connection, user_id: int) -> sa.Row:  # type: ignore[type-arg]
    query = sa.select(users).where(users.c.id == user_id)
    if conn.dialect.name == "postgresql":
        query = query.with_for_update()
    return existing(conn.execute(query).first(), ErrorCode.UNKNOWN_ADMIN, f"no admin {user_id}")


def _keeps_an_owner(conn: sa.Connection, row: sa.Row) -> None:  # type: ignore[type-arg]
    """Refuse if ``row`` is the last active owner (its change would leave none)."""
    if row.role != Role.OWNER or not row.is_active:
        return
    owners = sa.select(users.c.id).where(users.c.role == Role.OWNER.value, users.c.is_active.is_(True))
    if conn.dialect.name == "postgresql":
        owners = owners.with_for_update()
    if len(conn.execute(owners).all()) <= 1:
        raise ApiError(ErrorCode.LAST_OWNER, f"{row.email} is the last owner: make another admin an owner first")


def set_role(conn: sa.Connection, *, user_id: int, role: str, actor: str, now: dt.datetime) -> None:
    role = valid_role(role)
    row = _admin(conn, user_id)
    if row.role == role:
        return
    if role != Role.OWNER:
        _keeps_an_owner(conn, row)
    conn.execute(users.update().where(users.c.id == user_id).values(role=role))
    record(conn, AuditAction.ADMIN_ROLE, user_id, actor=actor, now=now, email=row.email, previous=row.role, role=role)


def set_active(conn: sa.Connection, *, user_id: int, active: bool, actor: str, now: dt.datetime) -> None:
    row = _admin(conn, user_id)
    if not active:
        _keeps_an_owner(conn, row)
        conn.execute(sessions.delete().where(sessions.c.user_id == user_id))
    conn.execute(users.update().where(users.c.id == user_id).values(is_active=active))
    action = AuditAction.ADMIN_ENABLE if active else AuditAction.ADMIN_DISABLE
    record(conn, action, user_id, actor=actor, now=now, email=row.email)


def remove_admin(conn: sa.Connection, *, user_id: int, actor: str, now: dt.datetime) -> None:
    row = _admin(conn, user_id)
    _keeps_an_owner(conn, row)
    conn.execute(sessions.delete().where(sessions.c.user_id == user_id))
    conn.execute(users.delete().where(users.c.id == user_id))
    record(conn, AuditAction.ADMIN_REMOVE, user_id, actor=actor, now=now, email=row.email)
