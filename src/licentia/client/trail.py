"""The proxy-log trail and the usage reports' schedule, as the signed status document asks.

With ``"proxy_trail": true`` in the stored signed document (the vendor turned Hitek's
trail on for the product), each install, register and usage event is sent first as
plain GETs (``core.trail`` writes them; no credential, no license key, only the
version and the facts the application chose to send), then posted as always. The POST
is the record: a GET that fails is ignored, and the GETs may use at most half of the
time left to the flush, so a proxy that swallows them never keeps the POST from going.

With ``"usage_report_once": true``, a registered installation reports ``usage`` once
only, ``usage_report_days`` after its signed ``registered_at`` (Hitek's "X+1 days").
"""

from __future__ import annotations

import time

from licentia.client._exceptions import LicentiaError
from licentia.client.witnesses import parse_time
from licentia.core.trail import TRAIL_MODES, trail_targets, usage_due_once

TYPE_CHECKING = False
if TYPE_CHECKING:
    import datetime as dt
    from collections.abc import Mapping
    from typing import Any

    from licentia.client.transport import Transport


def report_days(value: object) -> int:
    """The signed ``usage_report_days`` when it is sane, else 1 (a day)."""
    return value if type(value) is int and 0 < value < 10_000 else 1


def usage_due(payload: Mapping[str, Any], last_report: str | None, now: dt.datetime) -> bool:
    """Whether a registered installation reports ``usage`` at this online check."""
    import datetime as dt

    days = report_days(payload.get("usage_report_days"))
    if payload.get("usage_report_once") is True:
        registered = payload.get("registered_at")
        registered_at = parse_time(registered) if isinstance(registered, str) else None
        return usage_due_once(registered_at, now, days, last_report is not None)
    last = parse_time(last_report)
    return last is None or now - last >= dt.timedelta(days=days) or now < last


def trail_fields(event: Mapping[str, Any]) -> dict[str, object]:
    """What an event's trail may carry: its facts and the application's version (``core.trail`` keeps only
    the fields it names)."""
    data, facts = event.get("data"), event.get("facts")
    fields: dict[str, object] = dict(facts) if isinstance(facts, dict) else {}
    fields["version"] = data.get("app_version") if isinstance(data, dict) else None
    return fields


def send_trail(transport: Transport, product: str, batch: list[dict[str, Any]], deadline: float) -> int:
    """Send the trail GETs of the batch's install, register and usage events; the number the server took."""
    until = time.monotonic() + max(0.0, deadline - time.monotonic()) / 2
    taken = 0
    for event in batch:
        if event["kind"] not in TRAIL_MODES:
            continue
        for target in trail_targets(product, event["kind"], event["id"], trail_fields(event)):
            left = until - time.monotonic()
            if left <= 0:
                return taken
            try:
                transport.trail(target, timeout=left)
                taken += 1
            except LicentiaError:
                pass  # the trail is best effort: the POST is the record
    return taken
