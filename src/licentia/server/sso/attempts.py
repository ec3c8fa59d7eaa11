"""A sign-in sent to a provider: what its answer must bring back, kept server-side and spent once.

The browser carries only two random values: ``state`` in the URL (the provider hands it back) and a cookie of
its own. Neither is stored in clear: the attempt is found by the SHA-256 of ``state`` and must be answered in
the browser whose cookie hashes to ``browser_hash`` (else an attacker could start a sign-in with their own
account and have the victim's browser finish it). The PKCE verifier is sealed with the server's key.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from dataclasses import dataclass

import sqlalchemy as sa
from authlib.common.security import generate_token
from cryptography.fernet import Fernet

from licentia.server.notify.sealing import open_value, seal_value
from licentia.server.ratelimit import hit, peek
from licentia.server.store.tables import sso_attempts as table

# How long a person may spend at the provider (signing in, a second factor) before coming back.
LIFETIME = dt.timedelta(minutes=10)
# Sign-ins one network may start per hour: each stores an attempt, so a flood would only fill the table.
MAX_STARTS_PER_NETWORK = 60


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


@dataclass(frozen=True)
class Outbound:
    """What leaves with the browser: the values the authorization request carries, and the browser's cookie."""

    state: str
    nonce: str
    code_verifier: str
    browser: str


@dataclass(frozen=True)
class Spent:
    """An attempt answered: what the code's redemption and the ID token must match."""

    connection_id: int
    nonce: str
    code_verifier: str
    next_page: str


def open_attempt(
    conn: sa.Connection,
    *,
    connection_id: int,
    next_page: str,
    browser: str | None,
    network: str,
    fernet: Fernet,
    now: dt.datetime,
) -> Outbound | None:
    """A new attempt; ``browser``: the cookie value the browser already has, if any (several tabs share it).
    None when ``network`` started too many this hour."""
    bucket = f"sso_start:net:{network}"
    if peek(conn, bucket, now, limit=MAX_STARTS_PER_NETWORK) is not None:
        return None
    hit(conn, bucket, now)
    out = Outbound(
        state=generate_token(43),
        nonce=generate_token(43),
        code_verifier=generate_token(64),
        browser=browser if browser and 20 <= len(browser) <= 100 else generate_token(43),
    )
    conn.execute(table.delete().where(table.c.expires_at < now - dt.timedelta(days=1)))
    conn.execute(
        table.insert().values(
            state_hash=_digest(out.state),
            connection_id=connection_id,
            browser_hash=_digest(out.browser),
            nonce=out.nonce,
            verifier_sealed=seal_value(out.code_verifier, fernet),
            next_page=next_page[:500],
            created_at=now,
            expires_at=now + LIFETIME,
            used_at=None,
        )
    )
    return out


def spend_attempt(conn: sa.Connection, *, state: str, browser: str, fernet: Fernet, now: dt.datetime) -> Spent | None:
    """The attempt ``state`` names, spent now; None when unknown, spent, expired, or from another browser."""
    # Spent atomically: of two callbacks with the same state (a replay, a double click) only one updates the row.
    row = conn.execute(
        table.update()
        .where(table.c.state_hash == _digest(state[:200]), table.c.used_at.is_(None), table.c.expires_at > now)
        .values(used_at=now)
        .returning(
            table.c.connection_id, table.c.browser_hash, table.c.nonce, table.c.verifier_sealed, table.c.next_page
        )
    ).first()
    if row is None or not hmac.compare_digest(row.browser_hash, _digest(browser)):
        return None
    verifier = open_value(row.verifier_sealed, fernet, what="a sign-in attempt's PKCE verifier")
    return Spent(int(row.connection_id), row.nonce, verifier, row.next_page)
