"""Run a sync service function in one transaction from async code (admin UI, developer API).

Services are written once against a sync ``Connection`` (see products.service)
and used by the CLI, by writer jobs and, through here, by async routes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import sqlalchemy as sa
from fastapi import Request

from licentia.server.store.engine import READ_ONLY

T = TypeVar("T")


async def in_transaction(request: Request, fn: Callable[..., T], /, **kwargs: Any) -> T:
    async with request.app.state.async_engine.begin() as conn:
        return await conn.run_sync(lambda sync_conn: fn(sync_conn, **kwargs))


async def read_only(request: Request, fn: Callable[..., T], /, **kwargs: Any) -> T:
    """Run ``fn`` on a snapshot that takes no write lock (SQLite: a deferred transaction)."""
    async with request.app.state.async_engine.connect() as conn:
        reader = await conn.execution_options(**{READ_ONLY: True})
        return await reader.run_sync(lambda sync_conn: fn(sync_conn, **kwargs))


__all__ = ["in_transaction", "read_only", "sa"]
