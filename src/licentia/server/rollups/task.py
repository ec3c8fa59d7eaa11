"""The minute task that keeps the rollups fresh in every worker: today, and any day new or changed since."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from typing import Any

import sqlalchemy as sa
from fastapi import FastAPI

from licentia.server.rollups import incremental
from licentia.server.state import state_of
from licentia.server.store.engine import READ_ONLY, database_urls, make_sync_engine

log = logging.getLogger("licentia.server.rollups")


def _computed(reader: sa.Engine, now: dt.datetime) -> tuple[incremental.Plan, list[dict[str, Any]]]:
    with reader.connect() as conn:
        snapshot = conn.execution_options(**{READ_ONLY: True})
        chosen = incremental.plan(snapshot, now.date(), at=now)
        return chosen, incremental.compute(snapshot, chosen)


async def refresh_recent(app: FastAPI, reader: sa.Engine) -> int:
    state = state_of(app)
    now = state.clock.now()
    # Plan and compute in a thread, on a snapshot without the write lock: closing a
    # day turns 30 days of check events into counts, seconds of Python with a large
    # fleet, and on the event loop that would hold up every request of this process.
    # Then swap the rows in a short write transaction: checks never wait for the dashboard.
    work = asyncio.ensure_future(asyncio.to_thread(_computed, reader, now))
    try:
        chosen, rows = await asyncio.shield(work)
    except asyncio.CancelledError:
        # A thread cannot be stopped: let it finish, and give its connection back, before the engine goes.
        await asyncio.wait({work})
        raise
    async with state.async_engine.begin() as conn:
        return await conn.run_sync(lambda sync_conn: incremental.commit(sync_conn, chosen, rows, now=now))


async def start_rollup_task(app: FastAPI) -> Any:
    settings = state_of(app).settings
    interval = settings.rollup_interval_seconds
    if interval <= 0:
        return None

    async def loop() -> None:
        reader = make_sync_engine(database_urls(settings.resolved_database_url), pool_size=1, background=True)
        try:
            while True:
                # Sleep first: a starting server answers checks before it summarises.
                await asyncio.sleep(interval)
                try:
                    await refresh_recent(app, reader)
                except Exception:
                    # A failed run is retried next minute; the dashboard is only stale meanwhile.
                    log.exception("rollup refresh failed")
        finally:
            reader.dispose()

    return asyncio.create_task(loop(), name="licentia-rollups")
