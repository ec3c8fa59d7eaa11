"""``Authorization: Bearer lct_...`` on the developer API: the dependency that checks a request's token.

How tokens are made and stored is ``auth.tokens``; see its docstring for why
SHA-256 and what an unknown or wrong token costs.

A token whose lookup part names no token is refused without a database read
(:class:`KnownLookups`): a flood of made-up tokens would otherwise queue reads
beside every application's status check.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hmac
import time
import weakref
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


class KnownLookups:
    """The lookup parts of the tokens that exist, read again at most every ``refresh`` seconds.

    A lookup in the set goes on to the token's row (revoked, deleted meanwhile or
    wrong secret: refused there). A lookup not in the set waits for a reading of
    the table that began after the request arrived, so a token made a moment ago
    by another worker or host is found; all the unknown lookups arriving meanwhile
    share that one reading. At most ``max_waiting`` requests wait so; past them
    (a flood) an unknown lookup is refused at once, without a read. A flood of
    made-up tokens thus costs one small read per ``refresh`` seconds per process
    and answers no dearer than a ping, instead of queueing database reads in
    front of the status checks. What a flood can cost a genuine caller: a token
    made on another worker less than ``refresh`` seconds earlier is refused
    until the next reading.
    """

    def __init__(self, refresh: float = 0.25, max_waiting: int = 8) -> None:
        self.refresh = refresh
        self.max_waiting = max_waiting
        self._waiting = 0
        self._known: frozenset[str] = frozenset()
        self._read_at = -float("inf")  # when the last reading of the table began (monotonic)
        self._lock = asyncio.Lock()

    async def may_exist(self, engine: AsyncEngine, lookup: str) -> bool:
        if lookup in self._known:
            return True
        if self._waiting >= self.max_waiting:
            return False
        arrived = time.monotonic()
        self._waiting += 1
        try:
            async with self._lock:
                if self._read_at < arrived:  # no reading began since this request arrived
                    await asyncio.sleep(max(0.0, self._read_at + self.refresh - time.monotonic()))
                    started = time.monotonic()
                    async with engine.connect() as conn:
                        self._known = frozenset((await conn.execute(sa.select(tokens.c.lookup))).scalars())
                    self._read_at = started
        finally:
            self._waiting -= 1
        return lookup in self._known


_KNOWN: weakref.WeakKeyDictionary[AsyncEngine, KnownLookups] = weakref.WeakKeyDictionary()


def known_lookups(engine: AsyncEngine) -> KnownLookups:
    """The engine's set of token lookups (one per app: each app has its own engine)."""
    known = _KNOWN.get(engine)
    if known is None:
        known = _KNOWN[engine] = KnownLookups()
    return known


def _invalid() -> ApiError:
    return ApiError(
        ErrorCode.INVALID_TOKEN, "unknown, wrong or revoked API token", headers={"WWW-Authenticate": "Bearer"}
    )


async def authenticate_token(engine: AsyncEngine, clock: Clock, token: str) -> Actor:
    lookup = lookup_of(token)
    if lookup is None or not await known_lookups(engine).may_exist(engine, lookup):
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
