"""``last_seen``: the sealed latest local time seen, after a check, and when an offline check is a rollback.

Offline, a clock wound back further than the tolerance below ``last_seen`` is a rollback (the check
is denied and nothing is written). An offline check otherwise moves ``last_seen`` forward, at most
every ten minutes; an answer bound to its request sets it to the local time of receipt whatever it
was, so a clock that once ran far ahead and was put right heals at the next online check
(``client.witnesses.rolled_back`` and ``seen``; ``client.answers.accept``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from licentia.client.witnesses import rolled_back, seen
from licentia.core.answers import clock_offset
from licentia.core.clock import from_iso, to_iso
from licentia.core.status import DEFAULT_ROLLBACK_TOLERANCE
from sections.common import T0

SECOND, MINUTE, HOUR, DAY = (dt.timedelta(seconds=1), dt.timedelta(minutes=1), dt.timedelta(hours=1),
                             dt.timedelta(days=1))  # fmt: skip


def _inputs() -> list[tuple[str, dt.datetime | None, dt.datetime, dt.datetime | None]]:
    """(name, sealed last_seen, local now, the accepted answer's issued_at or None for an offline check)."""
    ahead = T0 + 30 * DAY  # a clock that once ran a month ahead
    return [
        ("offline, first check: nothing seen yet", None, T0, None),
        ("offline, an hour later: moves forward", T0, T0 + HOUR, None),
        ("offline, ten minutes later: unchanged (written at most every ten minutes)", T0, T0 + 10 * MINUTE, None),
        ("offline, ten minutes and a second later: moves forward", T0, T0 + 10 * MINUTE + SECOND, None),
        ("offline, the same time", T0, T0, None),
        ("offline, wound back an hour (inside the tolerance): unchanged", T0, T0 - HOUR, None),
        ("offline, wound back exactly the tolerance: unchanged", T0, T0 - 2 * HOUR, None),
        ("offline, wound back the tolerance and a second: rollback", T0, T0 - 2 * HOUR - SECOND, None),
        ("offline, wound back a week: rollback", T0, T0 - 7 * DAY, None),
        ("offline, after a clock once a month ahead: rollback until an answer", ahead, T0 + DAY, None),
        ("online, after a clock once a month ahead: healed", ahead, T0 + DAY, T0 + DAY),
        ("online, first contact", None, T0, T0 + 2 * SECOND),
        ("online, a minute later: set (no ten-minute step online)", T0, T0 + MINUTE, T0 + MINUTE),
        ("online, wound back a week: set back, no rollback online", T0, T0 - 7 * DAY, T0 + 3 * SECOND),
        ("online, clock 5 hours behind the server", T0 - 5 * HOUR, T0 - 4 * HOUR, T0 + HOUR),
        ("online, clock 2 days ahead of the server", T0, T0 + 2 * DAY, T0),
    ]


def expected(case: dict[str, Any]) -> dict[str, Any]:
    """The new ``last_seen``, whether the check is a rollback, and (online) the clock's offset kept."""
    last_seen = from_iso(case["last_seen"]) if case["last_seen"] else None
    now = from_iso(case["now"])
    if case["issued_at"] is not None:
        offset = clock_offset(from_iso(case["issued_at"]), now)
        return {"rollback": False, "last_seen": to_iso(seen(last_seen, now, answered=True)), "offset_seconds": offset}
    if rolled_back(last_seen, now, dt.timedelta(seconds=case["rollback_tolerance_seconds"])):
        return {"rollback": True, "last_seen": case["last_seen"], "offset_seconds": None}
    return {"rollback": False, "last_seen": to_iso(seen(last_seen, now, answered=False)), "offset_seconds": None}


def cases() -> list[dict[str, Any]]:
    out = []
    for name, last_seen, now, issued in _inputs():
        case: dict[str, Any] = {
            "name": name,
            "last_seen": to_iso(last_seen) if last_seen else None,
            "now": to_iso(now),
            "issued_at": to_iso(issued) if issued else None,
            "rollback_tolerance_seconds": int(DEFAULT_ROLLBACK_TOLERANCE.total_seconds()),
        }
        case["expected"] = expected(case)
        out.append(case)
    return out
