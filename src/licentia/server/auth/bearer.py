"""``Authorization: Bearer lct_...`` on the developer API: the dependency that checks a request's token.

How tokens are made and stored is ``auth.tokens``; see its docstring for why
SHA-256 and what an unknown or wrong token costs.
"""

from __future__ import annotations

import datetime as dt
import hmac
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import Depends, Header, Request
from starlette.concurrency import run_in_threadpool

from licentia.server.auth.passwords import verify_secret
from licentia.server.auth.tokens import SHA256_SCHEME, Actor, lookup_of, token_digest, tokens
from licentia.server.errors import ApiError, ErrorCode
from licentia.server.state import state_of


def _invalid() -> ApiError:
    return ApiError(
        ErrorCode.INVALID_TOKEN, "unknown, wrong or revoked API token", headers={"WWW-Authenticate": "Bearer"}
    )


async def authenticate_token(request: Request, token: str) -> Actor:
    lookup = lookup_of(token)
    if lookup is None:
        raise _invalid()
    engine = state_of(request.app).async_engine
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
    now = state_of(request.app).clock.now()
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
            raise ApiError(ErrorCode.MISSING_TOKEN, "send an API token: Authorization: Bearer <token>")
        actor = await authenticate_token(request, token.strip())
        if not actor.can(scope):
            raise ApiError(ErrorCode.INSUFFICIENT_SCOPE, f"this token lacks the {scope!r} scope")
        return actor

    return Depends(dependency)


ReadActor = Annotated[Actor, require("read")]
WriteActor = Annotated[Actor, require("write")]
