"""API tokens for the developer API: ``Authorization: Bearer lct_<lookup>_<secret>``.

The token is shown once at creation. At rest only its SHA-256 is kept, with
the short public ``lookup`` part to find the row. The secret part carries 256
random bits, so a slow hash adds nothing against guessing (as for license
keys); what it did add was a second of CPU for every request carrying any
bearer value, which let a few bogus requests slow every status check. Now an
unknown lookup costs one indexed read and a wrong secret one SHA-256, compared
in constant time. The lookup part is not secret (the admin UI lists it):
learning that one exists brings a guesser no closer to its 256 bits.

Tokens made before this (argon2id hashes) keep working: their row is verified
the old way and rewritten to SHA-256 on its first successful use.
Scopes: ``read`` and ``write`` (write implies read). Requests are checked in
``auth.bearer``; this module (the tokens themselves) loads no web framework,
so ``licentia admin token`` starts fast.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

import sqlalchemy as sa

from licentia.server.errors import ApiError, ErrorCode
from licentia.server.store.tables import api_tokens as tokens

SCOPES = ("read", "write")
PREFIX = "lct_"
# How a stored hash names its scheme; rows without it are argon2id (``$argon2id$...``).
SHA256_SCHEME = "sha256:"


def token_digest(token: str) -> str:
    """What is stored of a token: its SHA-256, tagged with the scheme."""
    return SHA256_SCHEME + hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Actor:
    """Who made a change, as written in the audit log."""

    label: str  # "admin:ann@vendor.example", "token:shop-integration", "cli:root"
    scopes: tuple[str, ...] = SCOPES
    limited_by_role: bool = False  # its maker's role took scopes away (see auth.bearer)

    def can(self, scope: str) -> bool:
        return scope in self.scopes or (scope == "read" and "write" in self.scopes)


@dataclass(frozen=True)
class CreatedToken:
    id: int
    token: str  # shown once


def create_token(
    conn: sa.Connection, *, name: str, scopes: list[str], now: dt.datetime, created_by: str | None
) -> CreatedToken:
    bad = [s for s in scopes if s not in SCOPES]
    if bad or not scopes:
        raise ApiError(ErrorCode.INVALID_SCOPE, f"scopes are {', '.join(SCOPES)}; got {', '.join(scopes) or 'none'}")
    if not name.strip() or len(name) > 200:
        raise ApiError(ErrorCode.INVALID_NAME, "a token needs a name of 1-200 characters")
    lookup = secrets.token_hex(6)
    token = f"{PREFIX}{lookup}_{secrets.token_urlsafe(32)}"
    token_id = conn.execute(
        tokens.insert()
        .values(
            name=name.strip(),
            lookup=lookup,
            token_hash=token_digest(token),
            scopes=sorted(set(scopes)),
            created_at=now,
            created_by=created_by,
        )
        .returning(tokens.c.id)
    ).scalar_one()
    return CreatedToken(int(token_id), token)


def revoke_token(conn: sa.Connection, *, token_id: int, now: dt.datetime) -> None:
    done = conn.execute(
        tokens.update().where(tokens.c.id == token_id, tokens.c.revoked_at.is_(None)).values(revoked_at=now)
    ).rowcount
    if not done:
        raise ApiError(ErrorCode.UNKNOWN_TOKEN, f"no active token {token_id}")


def lookup_of(token: str) -> str | None:
    """The public lookup part of a token, or None if it is not shaped like one."""
    if not token.startswith(PREFIX):
        return None
    lookup, sep, _secret = token[len(PREFIX) :].partition("_")
    return lookup if sep and len(lookup) == 12 else None
