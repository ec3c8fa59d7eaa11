"""Admin accounts, sign-in and sessions.

Threats and answers:
- password guessing: argon2id hashes, and a per-account lock-out after
  ``MAX_FAILURES`` wrong passwords for ``LOCKOUT`` (kept in the database so
  every worker enforces it);
- account discovery: an unknown email is verified against ``decoy_hash()`` so
  it costs the same time as a real one, and every refusal has the same words;
- stolen database: sessions are stored as SHA-256 of a 256-bit random id, so a
  copy of ``admin_sessions`` cannot be replayed as a cookie (``store.sessions``,
  shared with the customer portal);
- cross-site requests: each session carries its own CSRF token, which every
  form posts back (see ``router``);
- a stolen password: an admin may add a TOTP second factor
  (``admin.second_factor``); the password then opens only a session that
  waits for the code (``awaiting_code``) and reaches no page;
- a staff member doing more than their job: each admin has a role
  (``admin.roles``), checked on the server for every change.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa

from licentia.server.audit import AuditAction, record
from licentia.server.auth.passwords import decoy_hash, hash_secret, verify_secret
from licentia.server.auth.roles import Role, may, valid_role
from licentia.server.errors import ApiError, ErrorCode
from licentia.server.store import sessions as store_sessions
from licentia.server.store.sessions import end_session, live_session, purge_expired
from licentia.server.store.tables import admin_sessions as sessions
from licentia.server.store.tables import admin_users as users

MAX_FAILURES = 5
LOCKOUT = dt.timedelta(minutes=15)
MIN_PASSWORD_LENGTH = 10
CODE_WAIT = dt.timedelta(minutes=10)


class SignInRefused(Exception):
    """Wrong email, wrong password or locked account: one message for all, on purpose."""

    def __init__(self, locked: bool = False) -> None:
        super().__init__("wrong email or password" if not locked else "too many attempts; try again later")
        self.locked = locked


@dataclass(frozen=True)
class SignedIn:
    user_id: int
    email: str
    session_id: str  # the cookie value; only its hash is stored
    csrf_token: str
    needs_code: bool = False  # the session waits for the second factor


@dataclass(frozen=True)
class CurrentAdmin:
    user_id: int
    email: str
    csrf_token: str
    role: str = Role.OWNER.value

    @property
    def label(self) -> str:
        return f"admin:{self.email}"

    def may(self, needed: Role) -> bool:
        return may(self.role, needed)


def create_admin(
    conn: sa.Connection, *, email: str, password: str, actor: str, now: dt.datetime, role: str = Role.OWNER.value
) -> int:
    """A new admin; the CLI (the server's operator) makes owners unless told otherwise."""
    role = valid_role(role)
    email = email.strip().lower()
    if "@" not in email or len(email) > 320:
        raise ApiError(ErrorCode.INVALID_EMAIL, f"{email!r} is not an email address")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ApiError(ErrorCode.WEAK_PASSWORD, f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    if conn.execute(sa.select(users.c.id).where(users.c.email == email)).first():
        raise ApiError(ErrorCode.ADMIN_EXISTS, f"an admin {email} already exists")
    user_id = conn.execute(
        users.insert()
        .values(
            email=email,
            password_hash=hash_secret(password),
            created_at=now,
            failed_attempts=0,
            is_active=True,
            role=role,
            recovery_hashes=[],
        )
        .returning(users.c.id)
    ).scalar_one()
    record(conn, AuditAction.ADMIN_CREATE, user_id, actor=actor, now=now, email=email, role=role)
    return int(user_id)


def set_password(conn: sa.Connection, *, email: str, password: str, actor: str, now: dt.datetime) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ApiError(ErrorCode.WEAK_PASSWORD, f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    row = conn.execute(sa.select(users.c.id).where(users.c.email == email.strip().lower())).first()
    if row is None:
        raise ApiError(ErrorCode.UNKNOWN_ADMIN, f"no admin {email}")
    conn.execute(
        users.update()
        .where(users.c.id == row.id)
        .values(password_hash=hash_secret(password), failed_attempts=0, locked_until=None)
    )
    # A new password ends every session that the old one opened.
    conn.execute(sessions.delete().where(sessions.c.user_id == row.id))
    record(conn, AuditAction.ADMIN_PASSWORD, row.id, actor=actor, now=now)


def password_hash_of(conn: sa.Connection, *, email: str) -> str:
    """The stored hash to verify against, or the decoy (same cost) for unknown accounts."""
    row = conn.execute(sa.select(users.c.password_hash).where(users.c.email == email.strip().lower())).first()
    return row.password_hash if row is not None else decoy_hash()


def verify_password(stored_hash: str, password: str) -> bool:
    # Slow on purpose (argon2): callers run it off the event loop and outside any transaction.
    return verify_secret(stored_hash, password)


def conclude_sign_in(
    conn: sa.Connection, *, email: str, password_ok: bool, now: dt.datetime, lifetime: dt.timedelta
) -> SignedIn | SignInRefused:
    """Open a session, or count the failure. Returns the refusal (not raised) so the count commits."""
    row = conn.execute(sa.select(users).where(users.c.email == email.strip().lower())).first()
    if row is None or not row.is_active:
        return SignInRefused()
    if row.locked_until is not None and row.locked_until > now:
        # Locked: even the right password is refused, or guessing would just continue.
        return SignInRefused(locked=True)
    if not password_ok:
        failures = (row.failed_attempts or 0) + 1
        if failures >= MAX_FAILURES:
            conn.execute(
                users.update().where(users.c.id == row.id).values(failed_attempts=0, locked_until=now + LOCKOUT)
            )
            record(conn, AuditAction.ADMIN_LOCKED, row.id, actor="system", now=now)
            return SignInRefused(locked=True)
        conn.execute(users.update().where(users.c.id == row.id).values(failed_attempts=failures))
        return SignInRefused()
    needs_code = row.totp_enabled_at is not None
    if not needs_code:
        conn.execute(users.update().where(users.c.id == row.id).values(failed_attempts=0, locked_until=None))
    purge_expired(conn, sessions, now)
    # Waiting for the code: a short life, so a half-open session cannot be kept for later.
    life = min(lifetime, CODE_WAIT) if needs_code else lifetime
    signed = open_session(conn, user_id=row.id, email=row.email, now=now, lifetime=life, awaiting_code=needs_code)
    if not needs_code:
        record(conn, AuditAction.ADMIN_SIGN_IN, row.id, actor=f"admin:{row.email}", now=now)
    return signed


def open_session(
    conn: sa.Connection, *, user_id: int, email: str, now: dt.datetime, lifetime: dt.timedelta, awaiting_code: bool
) -> SignedIn:
    new = store_sessions.open_session(
        conn, sessions, now=now, lifetime=lifetime, user_id=user_id, awaiting_code=awaiting_code
    )
    return SignedIn(int(user_id), email, new.session_id, new.csrf_token, needs_code=awaiting_code)


def current_admin(
    conn: sa.Connection, *, session_id: str, now: dt.datetime, awaiting_code: bool = False
) -> CurrentAdmin | None:
    """The admin of a session (``awaiting_code``: of a session that still waits for the second factor)."""
    row = conn.execute(
        sa.select(users.c.id, users.c.email, users.c.role, sessions.c.csrf_token)
        .join(users, users.c.id == sessions.c.user_id)
        .where(
            live_session(sessions, session_id, now),
            sessions.c.awaiting_code.is_(awaiting_code),
            users.c.is_active.is_(True),
        )
    ).first()
    return None if row is None else CurrentAdmin(int(row.id), row.email, row.csrf_token, row.role)


def sign_out(conn: sa.Connection, *, admin: CurrentAdmin, session_id: str, now: dt.datetime) -> None:
    end_session(conn, sessions, session_id)
    record(conn, AuditAction.ADMIN_SIGN_OUT, admin.user_id, actor=admin.label, now=now)
