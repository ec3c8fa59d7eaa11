"""Jobs every process repeats beside the requests (seat release, the webhook events sweep), declared as data.

Each job is safe to run in several processes on several hosts at once (its
own locks or unique keys make a second run write nothing), so a plain timer
per process is enough: no leader election, no shared scheduler state.

A periodic job is one :class:`ScheduledTask` value in its own module, and
``create_app`` lists each value's ``start``. Jobs that are not a plain loop
(the outbox worker, the rollups with their own reader engine) keep a
``start(app)`` of their own with the same shape.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from licentia.server.state import state_of

if TYPE_CHECKING:
    from fastapi import FastAPI

    from licentia.server.settings import Settings


@dataclass(frozen=True, kw_only=True)
class ScheduledTask:
    """Run ``job`` after ``first_after`` seconds, then every ``interval``; log ``done % count`` when it did something.

    ``interval`` reads the period from the settings; a period of 0 or less
    turns the job off. A failed run is logged (``failed``) and retried at the
    next one: every job here is idempotent, so running late harms nobody.
    """

    name: str
    interval: Callable[[Settings], float]
    job: Callable[[FastAPI], Awaitable[int]]
    first_after: float
    log: logging.Logger
    done: str | None
    failed: str

    async def start(self, app: FastAPI) -> asyncio.Task[None] | None:
        interval = self.interval(state_of(app).settings)
        if interval <= 0:
            return None
        return asyncio.create_task(self._loop(app, interval), name=self.name)

    async def _loop(self, app: FastAPI, interval: float) -> None:
        first = min(self.first_after, interval)
        if first > 0:
            await asyncio.sleep(first)
        while True:
            try:
                count = await self.job(app)
                if count and self.done is not None:
                    self.log.info(self.done, count)
            except asyncio.CancelledError:
                raise
            except Exception:
                self.log.exception(self.failed)
            await asyncio.sleep(interval)
