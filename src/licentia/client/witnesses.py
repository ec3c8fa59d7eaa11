"""Clock-rollback witnesses: the latest local time an installation is known to have seen.

Offline, nothing but the local clock says what time it is, and winding it back
stretches a trial or a lease. Several independent witnesses say how late it
has already been: the sealed ``last_seen`` in the state, and the modification
times the file system gave the state file, the event queue (written when its
newest event was queued) and the data directory. The queue's own newest event
time would say the same as its file time, at the cost of opening SQLite on
every start, so the file time stands for it.

Beating all of them takes re-sealing the state (with the secret in it) and
setting the times of every file back: possible for someone in full control of
the machine, which docs/integrate-python.md says plainly.
"""

from __future__ import annotations

import os

from licentia.core.clock import UTC, datetime, from_iso, timedelta

TYPE_CHECKING = False  # typing is not imported: it would cost every application's start
if TYPE_CHECKING:
    import datetime as dt


def parse_time(text: str | None) -> dt.datetime | None:
    """A time written by the SDK, or ``None`` for anything else (never an error)."""
    if not text:
        return None
    try:
        return from_iso(text)
    except (ValueError, OverflowError):  # "0001-01-01T00:00:00+14:00" overflows when made UTC
        return None


# last_seen is written at most this often on offline checks: a write (with
# fsync) per check would cost far more than the signature check itself, and a
# clock wound back by less than this plus the tolerance buys almost nothing.
LAST_SEEN_STEP = timedelta(minutes=10)


def rolled_back(witness: dt.datetime | None, now: dt.datetime, tolerance: dt.timedelta) -> bool:
    """Whether the local clock ``now`` is further behind the latest witness than the tolerance (wound back)."""
    return witness is not None and now + tolerance < witness


def seen(last_seen: dt.datetime | None, now: dt.datetime, *, answered: bool) -> dt.datetime:
    """The sealed ``last_seen`` after a check at local time ``now`` that was not refused as a rollback.

    An answer bound to its request (``answered``) sets it to ``now`` whatever it was: a clock that
    once ran days ahead and was put right would otherwise deny every offline check until the real
    time caught up (the answer also measured the clock's offset, so this grants nothing). An
    offline check moves it forward only, and at most every ``LAST_SEEN_STEP``.
    """
    if answered or last_seen is None or now - last_seen > LAST_SEEN_STEP:
        return now
    return last_seen


def witness_paths(data_dir: str, state_path: str, queue_path: str) -> tuple[str, ...]:
    return (state_path, queue_path, queue_path + "-wal", data_dir)


def latest_witness(last_seen: dt.datetime | None, paths: tuple[str, ...], skew: int = 0) -> dt.datetime | None:
    """The latest of ``last_seen`` and the modification times of ``paths`` (missing ones skipped), in local time.

    ``skew``: seconds from the local clock to the file system's, as last
    measured (``State.file_clock_skew``): file times are the kernel's (or a file
    server's), which need not be the clock the application reads.
    """
    seen = [last_seen] if last_seen is not None else []
    for path in paths:
        try:
            seen.append(datetime.fromtimestamp(os.stat(path).st_mtime - skew, UTC))
        except (OSError, OverflowError, ValueError):
            continue
    return max(seen, default=None)


def settle_witnesses(paths: tuple[str, ...], now: dt.datetime, tolerance: dt.timedelta, skew: int = 0) -> None:
    """After an answer bound to its request, bring back file times a clock once far ahead left.

    Otherwise a clock that ran days ahead and was then put right would keep
    denying offline checks (``clock_rollback``) until the real time caught up:
    a lock-out by mistake. Safe whatever the local clock says: the bound
    answer also measured the clock's offset from the server's, and offline
    checks are judged on the local clock plus that offset.
    """
    limit = (now + tolerance).timestamp() + skew
    stamp = now.timestamp() + skew
    for path in paths:
        try:
            if os.stat(path).st_mtime > limit:
                os.utime(path, (stamp, stamp))
        except OSError:
            continue
