"""What the jobs of one writer batch share: rows read ahead, writes deferred to its end.

A status check's own decisions take microseconds of Python; what costs is a
statement per lookup and per update, and on PostgreSQL a network round trip
for each. So the writer lets a batch read the rows its jobs will need in one
statement before they run (:attr:`BatchScope.rows`), and lets jobs defer their
routine writes to the batch's end, just before its commit, where each kind goes
to the database in one call (see ``raw.BulkUpdate``). What is committed, and
when callers are answered (after the commit), does not change.

Deferred updates are compare-and-set: if one finds its row changed since it
was read (another worker, or an earlier statement of this very batch), the
flush raises :class:`RowChanged`, the batch rolls back, and the writer runs
each job alone, on fresh rows.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any

import sqlalchemy as sa

_KEY = "licentia.batch"
Flush = Callable[[sa.Connection, list[Any]], object]


class RowChanged(Exception):
    """A row changed between the read a decision was made on and the write of that decision."""


class BatchScope:
    def __init__(self, rows: dict[Hashable, Any] | None = None) -> None:
        self.rows: dict[Hashable, Any] = rows if rows is not None else {}
        self._deferred: dict[Flush, list[Any]] = {}

    def defer(self, flush: Flush, item: Any) -> None:
        """Collect ``item``; at the batch's end ``flush(conn, items)`` runs once with all of them.

        Flushes run in the order they were first deferred, items in the order given.
        """
        items = self._deferred.get(flush)
        if items is None:
            self._deferred[flush] = [item]
        else:
            items.append(item)

    def flush(self, conn: sa.Connection) -> None:
        deferred, self._deferred = self._deferred, {}
        for flush, items in deferred.items():
            flush(conn, items)


def current_scope(conn: sa.Connection) -> BatchScope | None:
    """The scope of the writer batch ``conn`` is running, if any."""
    scope: BatchScope | None = conn.info.get(_KEY)
    return scope


def enter_scope(conn: sa.Connection, scope: BatchScope) -> None:
    conn.info[_KEY] = scope


def leave_scope(conn: sa.Connection) -> None:
    conn.info.pop(_KEY, None)
