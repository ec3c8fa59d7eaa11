"""Sessions kept in a table, the admins' (``admin_sessions``) and the customers' (``portal_sessions``) alike.

A session's id is the cookie: 256 random bits, stored only as SHA-256, so a
copied table (a stolen backup) cannot be replayed as a cookie. Each session
carries its own CSRF token, which every form of the session posts back. The
tables differ only in whom a session names (an admin, an email address),
given to :func:`open_session` as columns.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa


@dataclass(frozen=True)
class NewSession:
    session_id: str  # the cookie value; only its hash is stored
    csrf_token: str


def session_hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def open_session(
    conn: sa.Connection, table: sa.Table, *, now: dt.datetime, lifetime: dt.timedelta, **owner: Any
) -> NewSession:
    """A new session in ``table`` for ``owner`` (its other columns), lasting ``lifetime``."""
    new = NewSession(secrets.token_urlsafe(32), secrets.token_urlsafe(32))
    conn.execute(
        table.insert().values(
            id_hash=session_hash(new.session_id),
            csrf_token=new.csrf_token,
            created_at=now,
            expires_at=now + lifetime,
            **owner,
        )
    )
    return new


def live_session(table: sa.Table, session_id: str, now: dt.datetime) -> sa.ColumnElement[bool]:
    """The condition that finds the session of the cookie ``session_id`` while it lasts."""
    return sa.and_(table.c.id_hash == session_hash(session_id), table.c.expires_at > now)


def end_session(conn: sa.Connection, table: sa.Table, session_id: str) -> None:
    conn.execute(table.delete().where(table.c.id_hash == session_hash(session_id)))


def purge_expired(conn: sa.Connection, table: sa.Table, now: dt.datetime) -> None:
    conn.execute(table.delete().where(table.c.expires_at < now))
