"""An admin signed in by the installation's identity provider (``sso``): which account it opens, and how.

Decisions (docs/sso.md, "Admin UI"):
- the provider's verified email names an existing, enabled admin account; the role is the account's, never
  the provider's;
- no account is created unless the connection says so (``new_admin_role``): then the first sign-in of an
  unknown address in the connection's domains makes an admin with that role (audited as made by the
  connection), with a random password nobody knows (a password reset gives it one);
- an admin with a second factor (TOTP) is still asked for the code: whether the provider asked for one is not
  something every provider tells in a way to check, and the admin chose it for this account;
- the password lock-out does not apply (no password is tried), but a disabled account stays shut.
"""

from __future__ import annotations

import datetime as dt
import secrets

import sqlalchemy as sa

from licentia.server.audit import AuditAction, record
from licentia.server.auth.accounts import CODE_WAIT, SignedIn, SignInRefused, create_admin, open_session
from licentia.server.store.sessions import purge_expired
from licentia.server.store.tables import admin_sessions as sessions
from licentia.server.store.tables import admin_users as users


def conclude_sso_sign_in(
    conn: sa.Connection,
    *,
    email: str,
    connection_id: int,
    new_admin_role: str | None,
    now: dt.datetime,
    lifetime: dt.timedelta,
) -> SignedIn | SignInRefused:
    """Open a session for the admin the verified ``email`` names (a refusal is returned, not raised)."""
    email = email.strip().lower()
    row = conn.execute(sa.select(users).where(users.c.email == email)).first()
    if row is None and new_admin_role:
        create_admin(
            conn,
            email=email,
            password=secrets.token_urlsafe(32),
            actor=f"sso:{connection_id}",
            now=now,
            role=new_admin_role,
        )
        row = conn.execute(sa.select(users).where(users.c.email == email)).first()
    if row is None or not row.is_active:
        return SignInRefused()
    needs_code = row.totp_enabled_at is not None
    purge_expired(conn, sessions, now)
    life = min(lifetime, CODE_WAIT) if needs_code else lifetime
    signed = open_session(conn, user_id=row.id, email=row.email, now=now, lifetime=life, awaiting_code=needs_code)
    if not needs_code:
        record(
            conn,
            AuditAction.ADMIN_SIGN_IN,
            row.id,
            actor=f"admin:{row.email}",
            now=now,
            method="sso",
            connection=connection_id,
        )
    return signed
