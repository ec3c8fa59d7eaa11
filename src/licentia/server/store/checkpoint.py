"""SQLite WAL checkpoints in a thread of their own, off the status checks' path.

In WAL mode every commit appends pages to the write-ahead log, and by default
the commit that takes the log past 1,000 pages also copies the log back into
the database file and syncs both: a stall of milliseconds in whichever request
happens to commit then. The writer's connection (see store.writer) turns that
off, and this thread runs a PASSIVE checkpoint twice a second instead: it
copies what is committed without taking the write lock, with the GIL released
(sqlite3 releases it while SQLite works), so checks keep committing meanwhile.
Other connections keep SQLite's default, so the log stays bounded even if this
thread is not running (the CLI, tests); ``journal_size_limit`` trims the file
after the log is restarted.
"""

from __future__ import annotations

import logging
import sqlite3
import threading

log = logging.getLogger("licentia.store")

# Bytes the WAL file is cut back to once the log restarts (SQLite keeps it otherwise).
JOURNAL_SIZE_LIMIT = 64 * 1024 * 1024


class Checkpointer:
    def __init__(self, path: str, *, interval: float = 0.5) -> None:
        self._path = path
        self._interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="licentia-checkpoint", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None

    def _loop(self) -> None:
        try:
            conn = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as exc:
            log.error("checkpoints: cannot open the database: %s", exc)
            return
        try:
            conn.execute("PRAGMA busy_timeout=1000")
            conn.execute(f"PRAGMA journal_size_limit={JOURNAL_SIZE_LIMIT}")
            while not self._stop.wait(self._interval):
                try:
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                except sqlite3.Error as exc:  # busy with another process's checkpoint: next time
                    log.debug("checkpoint skipped: %s", exc)
            conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        finally:
            conn.close()
