"""Run a sync service function in one transaction from async code (admin UI, developer API, tasks).

Services are written once against a sync ``Connection`` (see products.service)
and used by the CLI, by writer jobs and, through here, by async code. The web
layer reaches these through ``licentia.server.state``; nothing here knows HTTP.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from licentia.server.store.engine import READ_ONLY

T = TypeVar("T")


async def in_transaction(engine: AsyncEngine, fn: Callable[..., T], /, **kwargs: Any) -> T:
    async with engine.begin() as conn:
        return await conn.run_sync(lambda sync_conn: fn(sync_conn, **kwargs))


@asynccontextmanager
async def reading(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A connection on a snapshot that takes no write lock (SQLite: a deferred transaction)."""
    async with engine.connect() as conn:
        yield await conn.execution_options(**{READ_ONLY: True})


async def read_only(engine: AsyncEngine, fn: Callable[..., T], /, **kwargs: Any) -> T:
    """Run ``fn`` on a snapshot that takes no write lock, so it never holds up the status checks."""
    async with reading(engine) as conn:
        return await conn.run_sync(lambda sync_conn: fn(sync_conn, **kwargs))
