"""``Authorization: Bearer lct_...`` on the developer API: the dependency that checks a request's token.

How tokens are made and stored is ``auth.tokens``; see its docstring for why
SHA-256 and what an unknown or wrong token costs.
"""

from __future__ import annotations

import datetime as dt
import hmac
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import Depends, Header
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.concurrency import run_in_threadpool

from licentia.core.clock import Clock
from licentia.server.auth.passwords import verify_secret
from licentia.server.auth.roles import Role, may
from licentia.server.auth.tokens import SHA256_SCHEME, Actor, lookup_of, token_digest
from licentia.server.errors import ApiError, ErrorCode
from licentia.server.state import ClockDep, EngineDep
from licentia.server.store.tables import admin_users as users
from licentia.server.store.tables import api_tokens as tokens


def _invalid() -> ApiError:
    return ApiError(
        ErrorCode.INVALID_TOKEN, "unknown, wrong or revoked API token", headers={"WWW-Authenticate": "Bearer"}
    )


async def authenticate_token(engine: AsyncEngine, clock: Clock, token: str) -> Actor:
    lookup = lookup_of(token)
    if lookup is None:
        raise _invalid()
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
    now = clock.now()
    changes: dict[str, Any] = {}
    if not row.token_hash.startswith(SHA256_SCHEME):
        changes["token_hash"] = digest
    if row.last_used_at is None or now - row.last_used_at > dt.timedelta(minutes=1):
        changes["last_used_at"] = now
    if changes:
        async with engine.begin() as conn:
            await conn.execute(tokens.update().where(tokens.c.id == row.id).values(**changes))
    scopes = tuple(row.scopes or ())
    maker = (row.created_by or "").removeprefix("admin:") if (row.created_by or "").startswith("admin:") else None
    if maker is not None:
        # A token acts with at most its maker's role today: demoting or disabling
        # an admin takes the write scope (or every scope) from the tokens they made.
        async with engine.connect() as conn:
            admin = (
                await conn.execute(sa.select(users.c.role, users.c.is_active).where(users.c.email == maker))
            ).first()
        if admin is None or not admin.is_active:
            raise _invalid()
        if not may(admin.role, Role.STAFF):
            return Actor(label=f"token:{row.name}", scopes=("read",) if scopes else (), limited_by_role=True)
    return Actor(label=f"token:{row.name}", scopes=scopes)


def require(scope: str) -> Any:
    """A dependency that admits a bearer token holding ``scope``."""

    async def dependency(
        engine: EngineDep, clock: ClockDep, authorization: Annotated[str | None, Header()] = None
    ) -> Actor:
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise ApiError(ErrorCode.MISSING_TOKEN, "send an API token: Authorization: Bearer <token>")
        actor = await authenticate_token(engine, clock, token.strip())
        if not actor.can(scope):
            if actor.limited_by_role:
                raise ApiError(
                    ErrorCode.ROLE_FORBIDDEN, "the admin who made this token may no longer change anything (viewer)"
                )
            raise ApiError(ErrorCode.INSUFFICIENT_SCOPE, f"this token lacks the {scope!r} scope")
        return actor

    return Depends(dependency)


ReadActor = Annotated[Actor, require("read")]
WriteActor = Annotated[Actor, require("write")]
