"""One clock object, passed in wherever time matters.

Trials, leases, seat release and clock-rollback checks all ask a ``Clock``, so
tests move time instead of sleeping.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing is not imported: it would cost every application's start
if TYPE_CHECKING:
    import datetime as dt
    from datetime import UTC, datetime, timedelta
    from typing import Protocol

    class Clock(Protocol):
        def now(self) -> dt.datetime:
            """The current time, timezone-aware, in UTC."""
            ...

else:
    try:
        # The time types, for the SDK's modules too: the C classes that ``datetime`` re-exports
        # (the very same ones). On Python 3.11 ``import datetime`` first builds the module's
        # pure-Python twin, with ``operator`` and ``math``: about 1.5 ms, a seventh of Python's
        # own start, paid by every application's start for classes it then throws away.
        from _datetime import UTC, datetime, timedelta
    except ImportError:  # another Python implementation
        from datetime import UTC, datetime, timedelta

    class Clock:
        """Anything with ``now()``: a ``typing.Protocol`` for type checkers, a plain name at run time."""


__all__ = ["UTC", "Clock", "ManualClock", "SystemClock", "datetime", "from_iso", "timedelta", "to_iso"]


class SystemClock:
    def now(self) -> dt.datetime:
        return datetime.now(UTC)


class ManualClock:
    """A clock that only moves when told to (tests, simulations, demo data)."""

    def __init__(self, start: dt.datetime | None = None) -> None:
        self._now = (start or datetime.now(UTC)).astimezone(UTC)

    def now(self) -> dt.datetime:
        return self._now

    def set(self, when: dt.datetime) -> None:
        self._now = when.astimezone(UTC)

    def advance(self, **delta: float) -> dt.datetime:
        self._now += timedelta(**delta)
        return self._now


def to_iso(when: dt.datetime) -> str:
    """UTC, second precision, ``Z`` suffix: the one timestamp form in signed documents."""
    w = when if when.tzinfo is UTC else when.astimezone(UTC)
    # %-formatting: a status check formats four of these, and an f-string costs
    # twice as much, strftime and isoformat three times.
    return "%04d-%02d-%02dT%02d:%02d:%02dZ" % (w.year, w.month, w.day, w.hour, w.minute, w.second)  # noqa: UP031


def from_iso(text: str) -> dt.datetime:
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)
