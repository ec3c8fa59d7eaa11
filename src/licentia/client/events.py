"""A durable event queue (SQLite in the data directory) and its flush.

Events are written to disk before anything is sent and deleted only after the
server acknowledged them. Each has a client event id the server deduplicates
on, so re-sending after a lost answer or a killed process is harmless:
nothing is lost, nothing is counted twice (docs/design.md, principle 4).

A damaged queue (garbage, a truncated file, another database, a directory in
its place) must not stop the application from starting: it is moved aside for
inspection (``events.db.damaged-<time>``), reported once in the
``licentia.client`` log, and recreated empty. A queue that cannot be used for
other reasons (a read-only or full disk, a lock held too long) raises
:class:`ConfigurationError` and is left as it is.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import time
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from licentia.client._exceptions import ConfigurationError, Offline, ServerRefused
from licentia.client._value import FlushResult
from licentia.client.state import QUEUE_FILE, move_aside
from licentia.core.clock import to_iso
from licentia.core.vocabulary import REPORTED_EVENT_KINDS, ClientErrorCode, EventKind

if TYPE_CHECKING:
    import sqlite3

    from licentia.client.transport import Transport

T = TypeVar("T")
__all__ = ["KINDS", "MAX_BATCH", "QUEUE_FILE", "EventQueue", "FlushResult"]

KINDS = REPORTED_EVENT_KINDS  # what an application may report; the server records the rest itself
MAX_BATCH = 200  # the server's limit per call
_BACKOFF_START = 0.2
_BACKOFF_CAP = 5.0

# SQLite's own verdicts on a file that is not (or no longer) a sound queue. Our
# statements are fixed and correct, so a plain SQLITE_ERROR ("no such table",
# "no column named") means someone else's database is in its place.
_DAMAGE = ("SQLITE_CORRUPT", "SQLITE_NOTADB", "SQLITE_ERROR")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    occurred_at TEXT NOT NULL,
    data TEXT NOT NULL,
    facts TEXT NOT NULL
)
"""


_INSERT = "INSERT INTO events (id, kind, occurred_at, data, facts) VALUES (?, ?, ?, ?, ?)"


def _new_id() -> str:
    """A client event id (the server deduplicates on it): random, never derived from the event."""
    import uuid  # here: an offline start that queues nothing never pays for it

    return uuid.uuid4().hex


def _object(text: Any) -> dict[str, Any]:
    """A row's JSON object; a damaged row is sent with what can be read (nothing) rather than block the queue."""
    try:
        value = json.loads(text)
    except (TypeError, ValueError, RecursionError):
        return {}
    return value if isinstance(value, dict) else {}


class EventQueue:
    """The on-disk queue in ``data_dir/events.db``."""

    def __init__(self, data_dir: str | os.PathLike[str]) -> None:
        self.path = os.path.join(os.fspath(data_dir), QUEUE_FILE)
        self._ready = False

    @contextlib.contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        import sqlite3  # here, not at import: an offline check never opens the queue

        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        conn = sqlite3.connect(self.path, timeout=10, isolation_level=None)
        try:
            if not self._ready:
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute(_SCHEMA)
                self._ready = True
            # FULL: an event the app was told is queued survives power loss.
            conn.execute("PRAGMA synchronous=FULL")
            yield conn
        finally:
            conn.close()

    def _run(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``work`` on the queue; a damaged queue is moved aside and ``work`` runs on a new one."""
        import sqlite3

        for attempt in (1, 2):
            try:
                with self._connect() as conn:
                    return work(conn)
            except sqlite3.DatabaseError as exc:  # OperationalError included
                if attempt == 2 or not self._damaged(exc):
                    raise ConfigurationError(f"the event queue {self.path} cannot be used: {exc}") from exc
                self._ready = False
                self._move_aside()
            except OSError as exc:  # the data directory itself cannot be made
                raise ConfigurationError(f"the event queue {self.path} cannot be used: {exc}") from exc
        raise AssertionError("unreachable")

    def _damaged(self, exc: Exception) -> bool:
        if os.path.lexists(self.path) and not os.path.isfile(self.path):
            return True  # a directory (or a device) where the queue should be
        name = str(getattr(exc, "sqlite_errorname", ""))
        return name.startswith(_DAMAGE) and not name.startswith(("SQLITE_ERROR_RETRY", "SQLITE_ERROR_SNAPSHOT"))

    def _move_aside(self) -> None:
        try:
            for suffix in ("-wal", "-shm"):  # a journal of the old file must not be replayed into the new one
                with contextlib.suppress(FileNotFoundError):
                    os.replace(f"{self.path}{suffix}", f"{self.path}{suffix}.damaged")
            move_aside(self.path, "the event queue")
        except OSError as exc:
            raise ConfigurationError(f"the damaged event queue {self.path} cannot be moved aside: {exc}") from exc

    def add(
        self,
        kind: str,
        occurred_at: dt.datetime,
        data: Mapping[str, Any] | None = None,
        facts: Mapping[str, Any] | None = None,
    ) -> str:
        if kind not in KINDS:
            raise ValueError(f"unknown event kind {kind!r}")
        event_id = _new_id()
        row = (event_id, kind, to_iso(occurred_at), json.dumps(dict(data or {})), json.dumps(dict(facts or {})))
        self._run(lambda conn: conn.execute(_INSERT, row))
        return event_id

    def add_many(self, items: list[tuple[str, dt.datetime, Mapping[str, Any]]]) -> list[str]:
        """Queue several events in one transaction (bulk reporters, tests)."""
        rows = [(_new_id(), kind, to_iso(when), json.dumps(dict(data)), "{}") for kind, when, data in items]

        def insert(conn: sqlite3.Connection) -> None:
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.executemany(_INSERT, rows)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

        self._run(insert)
        return [row[0] for row in rows]

    def pending(self, limit: int = MAX_BATCH) -> list[dict[str, Any]]:
        sql = "SELECT id, kind, occurred_at, data, facts FROM events ORDER BY seq LIMIT ?"
        rows = self._run(lambda conn: conn.execute(sql, (limit,)).fetchall())
        return [
            {"id": r[0], "kind": r[1], "occurred_at": r[2], "data": _object(r[3]), "facts": _object(r[4])} for r in rows
        ]

    def count(self) -> int:
        if not os.path.exists(self.path):
            return 0
        return int(self._run(lambda conn: conn.execute("SELECT count(*) FROM events").fetchone()[0]))

    def remove(self, ids: list[str]) -> None:
        self._run(lambda conn: conn.executemany("DELETE FROM events WHERE id = ?", [(i,) for i in ids]))

    def flush(
        self,
        transport: Transport,
        credential: tuple[str, str] | None,
        *,
        deadline: float,
        batch_size: int = 100,
        max_retries: int = 5,
        trail: str | None = None,
    ) -> FlushResult:
        """Send queued events in batches until the queue is empty or ``deadline`` (monotonic) passes.

        Transient failures (offline, 429, 5xx) are retried with exponential
        backoff and jitter, bounded by ``max_retries`` and the deadline, so a
        flush never holds up the application longer than it was allowed to.
        ``trail``: the product whose proxy-log trail is on; each batch's trail GETs go
        before its POST (``client/trail.py``), again when the POST is retried.
        """
        sent = duplicates = dropped = 0
        retries = 0
        backoff = _BACKOFF_START
        batch_size = max(1, min(batch_size, MAX_BATCH))
        if credential is None:
            return FlushResult(0, 0, 0, self.count())
        while time.monotonic() < deadline:
            batch = self.pending(batch_size)
            if not batch:
                break
            path, body, batch = _request_for(batch)
            if trail is not None:
                from licentia.client.trail import send_trail

                send_trail(transport, trail, batch, deadline)
            try:
                answer = transport.request(
                    "POST", path, body=body, credential=credential, timeout=deadline - time.monotonic()
                )
            except ServerRefused as exc:
                if exc.code == ClientErrorCode.VALIDATION_ERROR:
                    # Malformed events would block the queue for ever; nothing can fix them.
                    self.remove([e["id"] for e in batch])
                    dropped += len(batch)
                    continue
                if exc.status != 429:
                    raise
                wait = float(exc.retry_after or backoff)
            except Offline:
                wait = backoff
            else:
                # Acknowledged: only now may the events leave the disk.
                self.remove([e["id"] for e in batch])
                sent += len(batch)
                reported = answer.get("duplicates") if isinstance(answer, dict) else None
                duplicates += reported if type(reported) is int and 0 <= reported <= len(batch) else 0
                retries, backoff = 0, _BACKOFF_START
                continue
            retries += 1
            import random

            wait = wait * (0.5 + random.random() / 2)  # jitter: many clients must not retry in step
            if retries > max_retries or time.monotonic() + wait >= deadline:
                break
            time.sleep(wait)
            backoff = min(backoff * 2, _BACKOFF_CAP)
        return FlushResult(sent, duplicates, dropped, self.count())


def _request_for(pending: list[dict[str, Any]]) -> tuple[str, dict[str, Any], list[dict[str, Any]]]:
    """The next call: a batch for /v1/events, or one feedback for /v1/feedback.

    Feedback goes alone to its own endpoint because its text may be longer than
    an event's data values are allowed to be.
    """
    first = pending[0]
    if first["kind"] == EventKind.FEEDBACK:
        data = first["data"]
        body = {"id": first["id"], "text": data.get("text") or "-", "email": data.get("email"), "facts": first["facts"]}
        return "/v1/feedback", body, [first]
    batch = []
    for event in pending:
        if event["kind"] == EventKind.FEEDBACK:
            break
        batch.append(event)
    return "/v1/events", {"events": batch}, batch
