"""The group-commit writer: one thread per process runs every hot-path job.

A status check is a short transaction. Committing each on its own makes the
disk flush the bottleneck, and several connections writing one SQLite file at
once produce second-long lock waits (docs/performance.md). So each process has one
writer thread with one connection: it takes all jobs waiting, runs each inside
its own savepoint (a failing job cannot spoil its neighbours), commits them in
one transaction, and only then answers their callers, so a check that was
answered is never lost. Jobs of a batch share a :class:`~licentia.server.store.batch.BatchScope`:
the rows named by their ``read_ahead`` keys are read in one go before they
run, and their deferred writes run together just before the commit.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

import sqlalchemy as sa

from licentia.server.store.batch import BatchScope, enter_scope, leave_scope

log = logging.getLogger("licentia.store")
T = TypeVar("T")
Job = Callable[[sa.Connection], Any]
# Reads, in one go, the rows a batch's jobs named: (conn, keys) -> {key: row}.
ReadAhead = Callable[[sa.Connection, list[Hashable]], dict[Hashable, Any]]

_STOP = object()
# How long inline batches keep retrying a locked SQLite database before failing.
_LOCK_PATIENCE = 15.0


class StoreUnavailable(Exception):
    """The database did not take the transaction; nothing of it was written."""


class Writer:
    def __init__(
        self,
        engine: sa.Engine,
        *,
        max_batch: int = 200,
        inline: bool = False,
        read_ahead: ReadAhead | None = None,
    ) -> None:
        self._engine = engine
        self._read_ahead = read_ahead
        self._max_batch = max_batch
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        # Inline mode (SQLite): batches run on the event loop itself. A local
        # SQLite statement takes microseconds, less than handing work to a
        # thread and back, and two threads contending for the GIL add
        # milliseconds of convoy delay under load.
        self._inline = inline
        self._pending: list[Any] = []
        self._flush_scheduled = False
        self._conn: sa.Connection | None = None
        self._lock_wait = 0.0

    def start(self) -> None:
        if self._inline:
            return
        thread = threading.Thread(target=self._loop, name="licentia-writer", daemon=True)
        thread.start()
        self._threads.append(thread)

    def stop(self) -> None:
        if self._inline:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
            return
        for _ in self._threads:
            self._queue.put(_STOP)
        for thread in self._threads:
            thread.join(timeout=30)
        self._threads = []

    async def run(self, job: Callable[[sa.Connection], T], *, read_ahead: Hashable | None = None) -> T:
        """Run ``job`` in the next batch and return its result once committed.

        ``read_ahead`` names a row the job will want, for the batch's read-ahead.
        """
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        if self._inline:
            self._pending.append((job, future, loop, read_ahead))
            if not self._flush_scheduled:
                # After the callbacks already ready: every request parsed in this
                # turn of the loop joins the same batch and the same commit.
                self._flush_scheduled = True
                loop.call_soon(self._flush_inline)
        else:
            self._queue.put((job, future, loop, read_ahead))
        return await future

    def _flush_inline(self) -> None:
        self._flush_scheduled = False
        while self._pending:
            batch, self._pending = self._pending[: self._max_batch], self._pending[self._max_batch :]
            if self._conn is None:
                try:
                    self._conn = self._engine.connect()
                    # Never wait for the lock on the event loop: whoever holds it
                    # (another worker, or an async transaction of this very process
                    # that needs the loop to finish) could not release it meanwhile.
                    # Nor copy the log back into the database file in a commit: the
                    # checkpoint thread does that (store.checkpoint).
                    if self._conn.dialect.name == "sqlite":
                        dbapi = self._conn.connection.dbapi_connection
                        dbapi.execute("PRAGMA busy_timeout=0")  # type: ignore[union-attr]
                        dbapi.execute("PRAGMA wal_autocheckpoint=0")  # type: ignore[union-attr]
                except Exception as exc:
                    log.error("database unreachable: %s", type(exc).__name__)
                    self._fail(batch, exc)
                    continue
            try:
                transaction = self._conn.begin()
            except sa.exc.OperationalError as exc:
                if "locked" not in str(exc.orig) and "busy" not in str(exc.orig):
                    self._fail(batch, exc)
                    continue
                self._pending[:0] = batch
                self._retry_when_unlocked()
                return
            self._lock_wait = 0.0
            self._conn = self._run_batch(self._conn, batch, transaction)

    def _retry_when_unlocked(self) -> None:
        loop = asyncio.get_running_loop()
        if self._lock_wait >= _LOCK_PATIENCE:
            batch, self._pending = self._pending, []
            self._lock_wait = 0.0
            self._fail(batch, sa.exc.OperationalError("BEGIN IMMEDIATE", {}, Exception("database is locked")))
            return
        delay = min(0.02, max(0.0005, self._lock_wait))
        self._lock_wait += delay
        self._flush_scheduled = True
        loop.call_later(delay, self._flush_inline)

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

    def _run_batch(
        self, conn: sa.Connection, batch: list[Any], transaction: sa.RootTransaction | None = None
    ) -> sa.Connection | None:
        """Run the batch in one transaction; if anything fails, run each job alone.

        Failures are rare (a bug, a constraint raced by another worker), so the
        common case pays for no savepoints; a job is a pure function of the
        database and its input, so running it again after a rollback is safe.
        """
        try:
            with transaction if transaction is not None else conn.begin():
                results = self._jobs(conn, batch)
        except Exception as exc:
            if len(batch) == 1:
                _job, future, loop, _key = batch[0]
                self._answer(loop, future, None, _public_error(exc))
                return self._healthy(conn)
            current: sa.Connection | None = self._healthy(conn)
            for item in batch:
                if current is None:
                    self._fail([item], StoreUnavailable("connection lost"))
                    continue
                current = self._run_alone(current, item)
            return current
        self._answer_all(
            [(loop, future, result) for (_job, future, loop, _key), result in zip(batch, results, strict=True)]
        )
        return conn

    def _jobs(self, conn: sa.Connection, batch: list[Any]) -> list[Any]:
        """Read ahead, run the jobs, flush what they deferred: the body of one transaction."""
        keys = [key for _job, _future, _loop, key in batch if key is not None]
        scope = BatchScope(self._read_ahead(conn, keys) if keys and self._read_ahead is not None else None)
        enter_scope(conn, scope)
        try:
            results = [job(conn) for job, _future, _loop, _key in batch]
            scope.flush(conn)
        finally:
            leave_scope(conn)
        return results

    def _run_alone(self, current: sa.Connection, item: Any) -> sa.Connection | None:
        _job, future, loop, _key = item
        conn = self._healthy(current)
        if conn is None:
            self._fail([item], StoreUnavailable("connection lost"))
            return None
        try:
            with conn.begin():
                (result,) = self._jobs(conn, [item])
        except Exception as exc:
            self._answer(loop, future, None, _public_error(exc))
            return self._healthy(conn)
        self._answer(loop, future, result, None)
        return conn

    def _healthy(self, conn: sa.Connection) -> sa.Connection | None:
        """The same connection if usable, else a fresh one (None if the database is gone)."""
        if not conn.invalidated and not conn.closed:
            return conn
        with contextlib.suppress(Exception):
            conn.close()
        try:
            return self._engine.connect()
        except Exception as exc:
            log.error("database unreachable: %s", type(exc).__name__)
            return None

    def _answer(self, loop: asyncio.AbstractEventLoop, future: Any, result: Any, error: BaseException | None) -> None:
        if self._inline:
            _settle(future, result, error)  # already on the loop's thread
        else:
            loop.call_soon_threadsafe(_settle, future, result, error)

    def _answer_all(self, answers: list[tuple[asyncio.AbstractEventLoop, Any, Any]]) -> None:
        """Settle a committed batch's futures: one wake-up of each event loop, not one per job."""
        if self._inline:
            for _loop, future, result in answers:
                _settle(future, result, None)
            return
        by_loop: dict[asyncio.AbstractEventLoop, list[tuple[Any, Any]]] = {}
        for loop, future, result in answers:
            by_loop.setdefault(loop, []).append((future, result))
        for loop, settled in by_loop.items():
            loop.call_soon_threadsafe(_settle_all, settled)

    def _fail(self, batch: list[Any], exc: BaseException) -> None:
        error = StoreUnavailable(f"the database did not take the transaction ({type(exc).__name__})")
        for _job, future, loop, _key in batch:
            self._answer(loop, future, None, error)


def _public_error(exc: BaseException) -> BaseException:
    if isinstance(exc, sa.exc.DBAPIError) and not isinstance(exc, sa.exc.IntegrityError):
        # Lock time-outs, lost connections: the caller may retry; say so, not 500.
        log.error("database error: %s: %s", type(exc.orig).__name__, exc.orig)
        return StoreUnavailable(f"the database did not take the transaction ({type(exc.orig).__name__})")
    return exc


def _settle_all(settled: list[tuple[asyncio.Future[Any], Any]]) -> None:
    for future, result in settled:
        _settle(future, result, None)


def _settle(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if future.cancelled():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)
