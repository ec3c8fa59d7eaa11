"""TOTP as an admin's second factor (RFC 6238 through pyotp), with recovery codes.

Threats and answers:
- a stolen password: with a second factor, the password alone opens only a
  session waiting for the code, which reaches no page;
- a copied database: the TOTP seed is sealed with the server's key (as the
  signing keys are), recovery codes are argon2 hashes like passwords;
- a code seen over a shoulder: each time step is accepted once
  (``totp_last_step``), so a used code cannot be replayed;
- guessing codes: wrong codes count toward the account's lock-out with wrong
  passwords (``accounts.MAX_FAILURES``).
"""

from __future__ import annotations

import base64
import datetime as dt
import io
import secrets
from dataclasses import dataclass

import pyotp
import qrcode
import qrcode.image.svg
import sqlalchemy as sa
from cryptography.fernet import Fernet, InvalidToken

from licentia.server.audit import AuditAction, record
from licentia.server.auth.accounts import LOCKOUT, MAX_FAILURES, SignedIn, open_session
from licentia.server.auth.passwords import hash_secret, verify_secret
from licentia.server.errors import ApiError, ErrorCode, existing
from licentia.server.store.tables import admin_sessions as sessions
from licentia.server.store.tables import admin_users as users

ISSUER = "Licentia"
RECOVERY_CODES = 10
# One step either side: a phone clock 30 s off still works.
VALID_WINDOW = 1


@dataclass(frozen=True)
class Enrolment:
    secret: str  # base32, for typing into an authenticator app
    uri: str  # otpauth:// for the QR code

    @property
    def qr_data_uri(self) -> str:
        """The QR code as an SVG data URI (the pages' content policy allows ``data:`` images only)."""
        image = qrcode.make(self.uri, image_factory=qrcode.image.svg.SvgPathImage, border=2)
        buffer = io.BytesIO()
        image.save(buffer)
        return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _seal(secret: str, fernet: Fernet) -> str:
    return fernet.encrypt(secret.encode()).decode("ascii")


def _open(sealed: str, fernet: Fernet) -> str | None:
    try:
        return fernet.decrypt(sealed.encode()).decode()
    except InvalidToken:
        return None


def _user(conn: sa.Connection, user_id: int) -> sa.Row:  # type: ignore[type-arg]
    row = conn.execute(sa.select(users).where(users.c.id == user_id)).first()
    return existing(row, ErrorCode.UNKNOWN_ADMIN, f"no admin {user_id}")


def start_enrolment(conn: sa.Connection, *, user_id: int, fernet: Fernet) -> Enrolment:
    """A new seed, stored sealed and pending until a code from it is confirmed."""
    row = _user(conn, user_id)
    if row.totp_enabled_at is not None:
        raise ApiError(ErrorCode.INVALID_ACTION, "a second factor is already on; turn it off first to change it")
    secret = pyotp.random_base32()
    conn.execute(users.update().where(users.c.id == user_id).values(totp_sealed=_seal(secret, fernet)))
    return Enrolment(secret, pyotp.TOTP(secret).provisioning_uri(name=row.email, issuer_name=ISSUER))


def pending_enrolment(conn: sa.Connection, *, user_id: int, fernet: Fernet) -> Enrolment | None:
    row = _user(conn, user_id)
    if row.totp_enabled_at is not None or not row.totp_sealed:
        return None
    secret = _open(row.totp_sealed, fernet)
    if secret is None:
        return None
    return Enrolment(secret, pyotp.TOTP(secret).provisioning_uri(name=row.email, issuer_name=ISSUER))


def _step_accepted(conn: sa.Connection, row: sa.Row, code: str, fernet: Fernet, now: dt.datetime) -> bool:  # type: ignore[type-arg]
    """The code is right for a step after the last one used; that step becomes the last one used."""
    secret = _open(row.totp_sealed or "", fernet)
    code = "".join(code.split())
    if secret is None or not code.isdigit() or len(code) != 6:
        return False
    totp = pyotp.TOTP(secret)
    current = totp.timecode(now)
    for step in range(current - VALID_WINDOW, current + VALID_WINDOW + 1):
        if (row.totp_last_step is None or step > row.totp_last_step) and secrets.compare_digest(
            totp.generate_otp(step), code
        ):
            conn.execute(users.update().where(users.c.id == row.id).values(totp_last_step=step))
            return True
    return False


def new_recovery_codes() -> list[str]:
    return [f"{secrets.token_hex(3)}-{secrets.token_hex(3)}" for _ in range(RECOVERY_CODES)]


def confirm_enrolment(
    conn: sa.Connection, *, user_id: int, code: str, fernet: Fernet, now: dt.datetime, actor: str
) -> list[str]:
    """Turn the second factor on with a first good code; return the recovery codes (shown once)."""
    row = _user(conn, user_id)
    if row.totp_enabled_at is not None or not row.totp_sealed:
        raise ApiError(ErrorCode.TOTP_NOT_ENROLLED, "start the enrolment first")
    if not _step_accepted(conn, row, code, fernet, now):
        raise ApiError(ErrorCode.INVALID_TOTP_CODE, "that code is wrong; check the clock of your phone and try again")
    codes = new_recovery_codes()
    conn.execute(
        users.update()
        .where(users.c.id == user_id)
        .values(totp_enabled_at=now, recovery_hashes=[hash_secret(c) for c in codes])
    )
    record(conn, AuditAction.ADMIN_TOTP_ON, user_id, actor=actor, now=now)
    return codes


def turn_off(conn: sa.Connection, *, user_id: int, now: dt.datetime, actor: str) -> None:
    """Remove the second factor (the admin themselves, or an owner's reset); end the admin's other sessions."""
    row = _user(conn, user_id)
    if row.totp_enabled_at is None and not row.totp_sealed:
        raise ApiError(ErrorCode.TOTP_NOT_ENROLLED, f"{row.email} has no second factor")
    conn.execute(
        users.update()
        .where(users.c.id == user_id)
        .values(totp_sealed=None, totp_enabled_at=None, totp_last_step=None, recovery_hashes=[])
    )
    if actor != f"admin:{row.email}":
        # A reset by someone else: whoever holds this admin's sessions signs in again.
        conn.execute(sessions.delete().where(sessions.c.user_id == user_id))
    record(conn, AuditAction.ADMIN_TOTP_OFF, user_id, actor=actor, now=now)


def is_recovery_code(text: str) -> bool:
    text = text.strip().lower()
    return len(text) == 13 and text[6] == "-"


def matching_recovery_hash(hashes: list[str], code: str) -> str | None:
    """The stored hash ``code`` matches (slow: argon2 for each; run outside any transaction)."""
    code = code.strip().lower()
    for stored in hashes:
        if verify_secret(stored, code):
            return stored
    return None


def recovery_hashes_of(conn: sa.Connection, *, user_id: int) -> list[str]:
    return list(_user(conn, user_id).recovery_hashes or [])


def conclude_second_factor(
    conn: sa.Connection,
    *,
    user_id: int,
    pending_hash: str,
    code: str,
    used_recovery_hash: str | None,
    fernet: Fernet,
    now: dt.datetime,
    lifetime: dt.timedelta,
) -> SignedIn | None:
    """The full session for a right code (the waiting one is replaced), or None and a counted failure."""
    row = _user(conn, user_id)
    if row.locked_until is not None and row.locked_until > now:
        return None
    ok = False
    if used_recovery_hash is not None:
        remaining = [h for h in (row.recovery_hashes or []) if h != used_recovery_hash]
        if len(remaining) < len(row.recovery_hashes or []):
            conn.execute(users.update().where(users.c.id == user_id).values(recovery_hashes=remaining))
            record(
                conn,
                AuditAction.ADMIN_RECOVERY_CODE_USED,
                user_id,
                actor=f"admin:{row.email}",
                now=now,
                left=len(remaining),
            )
            ok = True
    elif row.totp_enabled_at is not None:
        ok = _step_accepted(conn, row, code, fernet, now)
    if not ok:
        failures = (row.failed_attempts or 0) + 1
        if failures >= MAX_FAILURES:
            conn.execute(
                users.update().where(users.c.id == user_id).values(failed_attempts=0, locked_until=now + LOCKOUT)
            )
            conn.execute(sessions.delete().where(sessions.c.user_id == user_id, sessions.c.awaiting_code.is_(True)))
            record(conn, AuditAction.ADMIN_LOCKED, user_id, actor="system", now=now)
        else:
            conn.execute(users.update().where(users.c.id == user_id).values(failed_attempts=failures))
        return None
    conn.execute(users.update().where(users.c.id == user_id).values(failed_attempts=0, locked_until=None))
    # A new session id once the second factor passed: the waiting one is never promoted (fixation).
    conn.execute(sessions.delete().where(sessions.c.id_hash == pending_hash))
    signed = open_session(conn, user_id=user_id, email=row.email, now=now, lifetime=lifetime, awaiting_code=False)
    record(
        conn,
        AuditAction.ADMIN_SIGN_IN,
        user_id,
        actor=f"admin:{row.email}",
        now=now,
        second_factor="recovery_code" if used_recovery_hash else "totp",
    )
    return signed
