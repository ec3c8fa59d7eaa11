"""The checkpoint thread copies the write-ahead log back while the writer never does."""

from __future__ import annotations

import sqlite3
import time

from licentia.server.store.checkpoint import Checkpointer


def test_the_log_is_copied_back_by_the_thread_not_by_commits(tmp_path):
    path = str(tmp_path / "db.sqlite")
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("PRAGMA journal_mode=WAL")
    writer.execute("PRAGMA wal_autocheckpoint=0")  # as the hot-path writer runs
    writer.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
    for _ in range(300):
        writer.execute("INSERT INTO t (v) VALUES (?)", ("x" * 2000,))
    wal = tmp_path / "db.sqlite-wal"
    size_before = (tmp_path / "db.sqlite").stat().st_size
    assert wal.stat().st_size > 300 * 2000  # every commit went to the log, none was copied back

    checkpointer = Checkpointer(path, interval=0.05)
    checkpointer.start()
    try:
        deadline = time.monotonic() + 10
        while (tmp_path / "db.sqlite").stat().st_size <= size_before + 300 * 2000 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        checkpointer.stop()
    # The rows are in the database file itself now, and the writer kept writing meanwhile.
    assert (tmp_path / "db.sqlite").stat().st_size > size_before + 300 * 2000
    writer.execute("INSERT INTO t (v) VALUES ('after')")
    reader = sqlite3.connect(path)
    assert reader.execute("SELECT count(*) FROM t").fetchone() == (301,)
    reader.close()
    writer.close()
