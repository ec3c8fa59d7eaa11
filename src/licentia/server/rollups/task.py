"""The minute task that keeps the rollups fresh in every worker: today, and any day new or changed since."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from fastapi import FastAPI

from licentia.server.rollups import incremental
from licentia.server.state import state_of
from licentia.server.store.transactions import reading

log = logging.getLogger("licentia.server.rollups")


async def refresh_recent(app: FastAPI) -> int:
    state = state_of(app)
    now = state.clock.now()
    engine = state.async_engine
    # Plan and compute on a snapshot without the write lock (the scan is the slow part),
    # then swap the rows in a short write transaction: status checks never wait
    # for the dashboard.
    async with reading(engine) as reader:
        chosen = await reader.run_sync(lambda sync_conn: incremental.plan(sync_conn, now.date()))
        rows = await reader.run_sync(lambda sync_conn: incremental.compute(sync_conn, chosen))
    async with engine.begin() as conn:
        return await conn.run_sync(lambda sync_conn: incremental.commit(sync_conn, chosen, rows, now=now))


async def start_rollup_task(app: FastAPI) -> Any:
    interval = state_of(app).settings.rollup_interval_seconds
    if interval <= 0:
        return None

    async def loop() -> None:
        while True:
            # Sleep first: a starting server answers checks before it summarises.
            await asyncio.sleep(interval)
            try:
                await refresh_recent(app)
            except Exception:
                # A failed run is retried next minute; the dashboard is only stale meanwhile.
                log.exception("rollup refresh failed")

    return asyncio.create_task(loop(), name="licentia-rollups")
