"""The group-commit writer: one thread per process runs every hot-path job.

A status check is a short transaction. Committing each on its own makes the
disk flush the bottleneck, and several connections writing one SQLite file at
once produce second-long lock waits (PERFORMANCE.md). So each process has one
writer thread with one connection: it takes all jobs waiting, runs each inside
its own savepoint (a failing job cannot spoil its neighbours), commits them in
one transaction, and only then answers their callers, so a check that was
answered is never lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
from collections.abc import Callable
from typing import Any, TypeVar

import sqlalchemy as sa

log = logging.getLogger("licentia.store")
T = TypeVar("T")
Job = Callable[[sa.Connection], Any]

_STOP = object()


class StoreUnavailable(Exception):
    """The database did not take the transaction; nothing of it was written."""


class Writer:
    def __init__(self, engine: sa.Engine, *, max_batch: int = 200) -> None:
        self._engine = engine
        self._max_batch = max_batch
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="licentia-writer", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._queue.put(_STOP)
            self._thread.join(timeout=30)
            self._thread = None

    async def run(self, job: Callable[[sa.Connection], T]) -> T:
        """Run ``job`` in the next batch and return its result once committed."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._queue.put((job, future, loop))
        return await future

    def _loop(self) -> None:
        conn: sa.Connection | None = None
        while True:
            first = self._queue.get()
            if first is _STOP:
                break
            batch = [first]
            stop_after = False
            while len(batch) < self._max_batch:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is _STOP:
                    stop_after = True
                    break
                batch.append(item)
            if conn is None:
                try:
                    conn = self._engine.connect()
                except Exception as exc:
                    log.error("database unreachable: %s", type(exc).__name__)
                    self._fail(batch, exc)
                    continue
            conn = self._run_batch(conn, batch)
            if stop_after:
                break
        if conn is not None:
            conn.close()

    def _run_batch(self, conn: sa.Connection, batch: list[Any]) -> sa.Connection | None:
        outcomes: list[tuple[Any, Any, BaseException | None]] = []
        try:
            with conn.begin():
                for job, future, loop in batch:
                    savepoint = conn.begin_nested()
                    try:
                        result = job(conn)
                    except Exception as exc:
                        savepoint.rollback()
                        outcomes.append(((future, loop), None, exc))
                    else:
                        savepoint.commit()
                        outcomes.append(((future, loop), result, None))
        except Exception as exc:
            log.error("batch of %d jobs not committed: %s", len(batch), exc)
            self._fail(batch, exc)
            with contextlib.suppress(Exception):  # the connection is discarded either way
                conn.close()
            return None
        for (future, loop), result, error in outcomes:
            loop.call_soon_threadsafe(_settle, future, result, error)
        return conn

    @staticmethod
    def _fail(batch: list[Any], exc: BaseException) -> None:
        error = StoreUnavailable(f"the database did not take the transaction ({type(exc).__name__})")
        for _job, future, loop in batch:
            loop.call_soon_threadsafe(_settle, future, None, error)


def _settle(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if future.cancelled():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)
