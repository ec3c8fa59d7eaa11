"""Jobs every process repeats beside the requests (seat release, the webhook events sweep), declared as data.

Each job is safe to run in several processes on several hosts at once (its
own locks or unique keys make a second run write nothing), so a plain timer
per process is enough: no leader election, no shared scheduler state.

A periodic job is one :class:`ScheduledTask` value in its own module, and
``create_app`` lists each value's ``start``. Jobs that are not a plain loop
(the outbox worker, the rollups with their own reader engine) keep a
``start(app)`` of their own with the same shape.

A job over many units (licenses, products) lists them, then writes them a
few at a time: as writer jobs between the status checks inside the server
(:func:`each_in_writer`), one transaction per unit from the CLI
(:func:`each_in_transactions`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from licentia.server.state import state_of

if TYPE_CHECKING:
    import sqlalchemy as sa
    from fastapi import FastAPI

    from licentia.server.settings import Settings

U = TypeVar("U")


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


def each_in_transactions(
    engine: sa.Engine, find: Callable[[sa.Connection], Sequence[U]], work: Callable[[sa.Connection, U], int]
) -> int:
    """``work`` on each unit ``find`` lists, one transaction per unit (the CLI, tests); the sum of its counts."""
    with engine.connect() as conn:
        found = find(conn)
    done = 0
    for unit in found:
        with engine.begin() as conn:
            done += work(conn, unit)
    return done


async def each_in_writer(
    app: FastAPI,
    find: Callable[[sa.Connection], Sequence[U]],
    work: Callable[[sa.Connection, U], int],
    *,
    chunk: int = 1,
) -> int:
    """The same inside a running server: writer jobs of ``chunk`` units each, between status checks."""
    writer = state_of(app).writer
    found = await writer.run(find)
    done = 0
    for start in range(0, len(found), chunk):

        def job(conn: sa.Connection, units: Sequence[U] = found[start : start + chunk]) -> int:
            return sum(work(conn, unit) for unit in units)

        done += await writer.run(job)
    return done
