"""The group-commit writer: every hot-path job runs in a batch on the event loop.

A status check is a short transaction. Committing each on its own makes the
disk flush the bottleneck, and several connections writing one SQLite file at
once produce second-long lock waits (docs/performance.md). So each process has
one writer: it takes all jobs waiting, runs them in one transaction (a failing
job cannot spoil its neighbours: see ``_run_batch``), commits, and only then
answers their callers, so a check that was answered is never lost. Jobs of a
batch share a :class:`~licentia.server.store.batch.BatchScope`: the rows named
by their ``read_ahead`` keys are read in one go before they run, and their
deferred writes run together just before the commit.

Batches run on the event loop's own thread, never on a thread of their own:

- SQLite: a batch runs synchronously. A local SQLite statement takes
  microseconds, less than handing work to a thread and back.
- PostgreSQL: a batch's jobs are the same synchronous code, run in a greenlet
  whose every database round trip is awaited through psycopg's asyncio
  connection (SQLAlchemy's ``greenlet_spawn``), so the loop parses and signs
  other requests meanwhile. A writer thread did the same with two threads
  contending for the interpreter lock: after each round trip it waited for the
  loop to let go, and the loop waited for it after each signature
  (docs/performance.md measures both). Two connections each carry one batch
  at a time; a second batch starts while one is in flight only once as many
  jobs wait as that batch holds, so that batches stay large under load
  (PostgreSQL's cost per check grows as they shrink) and a lone job never waits.
  The connections are in autocommit at the driver: the writer sends a batch's
  BEGIN with its first statement, in one round trip (``store.raw.begin_lazily``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.util import await_only, greenlet_spawn

from licentia.server.store.batch import BatchScope, enter_scope, leave_scope
from licentia.server.store.engine import DatabaseUrls, make_async_engine, make_sync_engine
from licentia.server.store.raw import begin_if_pending, begin_lazily, drop_lazy_begin

log = logging.getLogger("licentia.store")
T = TypeVar("T")
Job = Callable[[sa.Connection], Any]
# Reads, in one go, the rows a batch's jobs named: (conn, keys) -> {key: row}.
ReadAhead = Callable[[sa.Connection, list[Hashable]], dict[Hashable, Any]]
# A job waiting for its batch: (job, future, read-ahead key).
Item = tuple[Job, "asyncio.Future[Any]", Hashable | None]

# How long SQLite batches keep retrying a locked database before failing.
_LOCK_PATIENCE = 15.0
# PostgreSQL connections of a writer, each carrying one batch at a time.
CONNECTIONS = 2
# How long closing waits for the batches under way, then for their cancellation.
_CLOSE_PATIENCE = 10.0


class StoreUnavailable(Exception):
    """The database did not take the transaction; nothing of it was written."""


class Writer:
    def __init__(
        self,
        urls: DatabaseUrls,
        *,
        max_batch: int = 200,
        read_ahead: ReadAhead | None = None,
        connections: int = CONNECTIONS,
    ) -> None:
        self._sqlite = urls.is_sqlite
        if self._sqlite:
            self._engine = make_sync_engine(urls)
            self._async_engine = None
        else:
            # Connections of an async engine's sync facade work inside greenlet_spawn only.
            self._async_engine = make_async_engine(urls, pool_size=connections)
            self._engine = self._async_engine.sync_engine
            # A batch's transaction begins with its first statement (store.raw.begin_lazily).
            sa.event.listen(self._engine, "before_cursor_execute", _begin_before_statement)
        self._read_ahead = read_ahead
        self._max_batch = max_batch
        self._pending: list[Item] = []
        self._dispatch_scheduled = False
        # SQLite: the one connection. PostgreSQL: the connections not carrying a
        # batch (None until first used), and the sizes of the batches in flight.
        self._conn: sa.Connection | None = None
        self._idle: list[sa.Connection | None] = [None] * connections
        self._in_flight: list[int] = []
        self._carriers: set[asyncio.Task[None]] = set()
        self._lock_wait = 0.0
        self._closing = False

    async def run(self, job: Callable[[sa.Connection], T], *, read_ahead: Hashable | None = None) -> T:
        """Run ``job`` in the next batch and return its result once committed.

        ``read_ahead`` names a row the job will want, for the batch's read-ahead.
        """
        if self._closing:
            raise StoreUnavailable("the server is shutting down")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._pending.append((job, future, read_ahead))
        if not self._dispatch_scheduled and (self._sqlite or self._may_start()):
            # After the callbacks already ready: every request parsed in this
            # turn of the loop joins the same batch and the same commit.
            self._dispatch_scheduled = True
            loop.call_soon(self._flush_sqlite if self._sqlite else self._dispatch)
        return await future

    async def close(self) -> None:
        """Finish the batches under way, refuse the jobs still waiting, close the connections.

        No batch starts once closing began (a batch ending would otherwise start
        the next one with the jobs waiting, on a connection nobody closes).
        """
        self._closing = True
        if self._carriers:
            _done, stuck = await asyncio.wait(set(self._carriers), timeout=_CLOSE_PATIENCE)
            for task in stuck:
                task.cancel()
            if stuck:
                await asyncio.wait(stuck, timeout=_CLOSE_PATIENCE)
                if any(not task.done() for task in stuck):
                    log.error("a writer batch did not end within %s s of its cancellation", _CLOSE_PATIENCE)
        waiting, self._pending = self._pending, []
        self._fail(waiting, StoreUnavailable("the server is shutting down"))
        if self._sqlite:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
            self._engine.dispose()
            return
        for conn in self._idle:
            if conn is not None:
                with contextlib.suppress(Exception):
                    await greenlet_spawn(conn.close)
        self._idle = [None] * len(self._idle)
        if self._async_engine is not None:
            await self._async_engine.dispose()

    # PostgreSQL: batches awaiting their round trips on the loop.

    def _may_start(self) -> bool:
        """A free connection, and either no batch in flight or as many jobs waiting as the smallest holds."""
        if self._closing or not self._pending or not self._idle:
            return False
        return not self._in_flight or len(self._pending) >= min(self._in_flight)

    def _dispatch(self) -> None:
        self._dispatch_scheduled = False
        if self._may_start():
            conn = self._idle.pop()
            batch, self._pending = self._pending[: self._max_batch], self._pending[self._max_batch :]
            self._in_flight.append(len(batch))
            # The loop keeps only a weak reference to a task: the writer keeps its own.
            task = asyncio.get_running_loop().create_task(self._carry(conn, batch))
            self._carriers.add(task)
            task.add_done_callback(self._carriers.discard)

    async def _carry(self, conn: sa.Connection | None, batch: list[Item]) -> None:
        try:
            conn = await greenlet_spawn(self._run_connected, conn, batch)
        except Exception as exc:  # a bug outside the jobs: answer them all the same
            log.exception("writer batch failed")
            self._fail(batch, exc)
            conn = None
        except BaseException:
            # Cancelled: closing gave up waiting for a stuck batch. Its callers get an
            # answer (nothing was committed), and its connection, midway, is not reused.
            self._fail(batch, StoreUnavailable("the server is shutting down"))
            if conn is not None:
                with contextlib.suppress(BaseException):
                    await greenlet_spawn(conn.invalidate)
            conn = None
            raise
        finally:
            self._in_flight.remove(len(batch))
            if self._closing and conn is not None:
                # Closing closes the idle connections: one coming back now is closed here.
                with contextlib.suppress(Exception):
                    await greenlet_spawn(conn.close)
                conn = None
            self._idle.append(conn)
            if self._pending and not self._dispatch_scheduled:
                self._dispatch_scheduled = True
                asyncio.get_running_loop().call_soon(self._dispatch)

    def _run_connected(self, conn: sa.Connection | None, batch: list[Item]) -> sa.Connection | None:
        if conn is None:
            try:
                conn = self._connect()
            except Exception as exc:
                log.error("database unreachable: %s", type(exc).__name__)
                self._fail(batch, exc)
                return None
        return self._run_batch(conn, batch)

    def _connect(self) -> sa.Connection:
        conn = self._engine.connect()
        if not self._sqlite:
            # Transactions begin with their first statement (store.raw.begin_lazily).
            await_only(conn.connection.driver_connection.set_autocommit(True))  # type: ignore[union-attr]
        return conn

    # SQLite: batches run synchronously on the loop.

    def _flush_sqlite(self) -> None:
        self._dispatch_scheduled = False
        if self._closing:
            return
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
        self._dispatch_scheduled = True
        loop.call_later(delay, self._flush_sqlite)

    # Both: one batch, one transaction.

    def _run_batch(
        self, conn: sa.Connection, batch: list[Item], transaction: sa.RootTransaction | None = None
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
            if _cancelled():
                # Closing gave up on this batch (the driver reports the cancelled
                # statement as an error): running each job alone would wait again.
                raise asyncio.CancelledError from exc
            if len(batch) == 1:
                _settle(batch[0][1], None, _public_error(exc))
                return self._healthy(conn)
            current: sa.Connection | None = self._healthy(conn)
            for item in batch:
                if current is None:
                    self._fail([item], StoreUnavailable("connection lost"))
                    continue
                current = self._run_alone(current, item)
            return current
        for (_job, future, _key), result in zip(batch, results, strict=True):
            _settle(future, result, None)
        return conn

    def _jobs(self, conn: sa.Connection, batch: list[Item]) -> list[Any]:
        """Read ahead, run the jobs, flush what they deferred: the body of one transaction."""
        if not self._sqlite:
            begin_lazily(conn)
        try:
            keys = [key for _job, _future, key in batch if key is not None]
            scope = BatchScope(self._read_ahead(conn, keys) if keys and self._read_ahead is not None else None)
            enter_scope(conn, scope)
            try:
                results = [job(conn) for job, _future, _key in batch]
                scope.flush(conn)
            finally:
                leave_scope(conn)
        finally:
            drop_lazy_begin(conn)
        return results

    def _run_alone(self, current: sa.Connection, item: Item) -> sa.Connection | None:
        conn = self._healthy(current)
        if conn is None:
            self._fail([item], StoreUnavailable("connection lost"))
            return None
        try:
            with conn.begin():
                (result,) = self._jobs(conn, [item])
        except Exception as exc:
            if _cancelled():
                raise asyncio.CancelledError from exc  # as in _run_batch
            _settle(item[1], None, _public_error(exc))
            return self._healthy(conn)
        _settle(item[1], result, None)
        return conn

    def _healthy(self, conn: sa.Connection) -> sa.Connection | None:
        """The same connection if usable, else a fresh one (None if the database is gone)."""
        if not conn.invalidated and not conn.closed and not getattr(conn.connection.driver_connection, "closed", False):
            return conn
        with contextlib.suppress(Exception):
            conn.close()
        try:
            return self._connect()
        except Exception as exc:
            log.error("database unreachable: %s", type(exc).__name__)
            return None

    def _fail(self, batch: list[Item], exc: BaseException) -> None:
        error = StoreUnavailable(f"the database did not take the transaction ({type(exc).__name__})")
        for _job, future, _key in batch:
            _settle(future, None, error)


def _cancelled() -> bool:
    """The batch's task is being cancelled (PostgreSQL; SQLite's batches run outside any task)."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


def _begin_before_statement(conn: sa.Connection, *_args: Any) -> None:
    begin_if_pending(conn)


def _public_error(exc: BaseException) -> BaseException:
    if isinstance(exc, sa.exc.DBAPIError) and not isinstance(exc, sa.exc.IntegrityError):
        # Lock time-outs, lost connections: the caller may retry; say so, not 500.
        log.error("database error: %s: %s", type(exc.orig).__name__, exc.orig)
        return StoreUnavailable(f"the database did not take the transaction ({type(exc.orig).__name__})")
    return exc


def _settle(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if future.done():  # its caller gave up, or it was answered before the batch failed
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)
