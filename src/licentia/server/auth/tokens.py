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
Scopes: ``read`` and ``write`` (write implies read).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import Depends, Header, Request
from starlette.concurrency import run_in_threadpool

from licentia.server.auth.passwords import verify_secret
from licentia.server.errors import ApiError
from licentia.server.store.models import ApiToken, table_of

tokens = table_of(ApiToken)
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
        raise ApiError("invalid_scope", f"scopes are {', '.join(SCOPES)}; got {', '.join(scopes) or 'none'}")
    if not name.strip() or len(name) > 200:
        raise ApiError("invalid_name", "a token needs a name of 1-200 characters")
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
        raise ApiError("unknown_token", f"no active token {token_id}", 404)


def _lookup_of(token: str) -> str | None:
    if not token.startswith(PREFIX):
        return None
    lookup, sep, _secret = token[len(PREFIX) :].partition("_")
    return lookup if sep and len(lookup) == 12 else None


def _invalid() -> ApiError:
    return ApiError("invalid_token", "unknown, wrong or revoked API token", 401, headers={"WWW-Authenticate": "Bearer"})


async def authenticate_token(request: Request, token: str) -> Actor:
    lookup = _lookup_of(token)
    if lookup is None:
        raise _invalid()
    engine = request.app.state.async_engine
    async with engine.connect() as conn:
        row = (await conn.execute(sa.select(tokens).where(tokens.c.lookup == lookup))).first()
    if row is None:
        raise _invalid()
    digest = token_digest(token)
    if row.token_hash.startswith(SHA256_SCHEME):
        ok = hmac.compare_digest(row.token_hash.encode(), digest.encode())
    else:
        # A token made before SHA-256: only a row that exists costs the argon2 check.
        ok = await run_in_threadpool(verify_secret, row.token_hash, token)
    if not ok or row.revoked_at is not None:
        raise _invalid()
    now = request.app.state.clock.now()
    changes: dict[str, Any] = {}
    if not row.token_hash.startswith(SHA256_SCHEME):
        changes["token_hash"] = digest
    if row.last_used_at is None or now - row.last_used_at > dt.timedelta(minutes=1):
        changes["last_used_at"] = now
    if changes:
        async with engine.begin() as conn:
            await conn.execute(tokens.update().where(tokens.c.id == row.id).values(**changes))
    return Actor(label=f"token:{row.name}", scopes=tuple(row.scopes or ()))


def require(scope: str) -> Any:
    """A dependency that admits a bearer token holding ``scope``."""

    async def dependency(request: Request, authorization: Annotated[str | None, Header()] = None) -> Actor:
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise ApiError("missing_token", "send an API token: Authorization: Bearer <token>", 401)
        actor = await authenticate_token(request, token.strip())
        if not actor.can(scope):
            raise ApiError("insufficient_scope", f"this token lacks the {scope!r} scope", 403)
        return actor

    return Depends(dependency)


ReadActor = Annotated[Actor, require("read")]
WriteActor = Annotated[Actor, require("write")]
