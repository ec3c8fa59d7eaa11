"""The server's own facts about a request (received time, external IP, time zone), stored beside the client's."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from fastapi import Request

from licentia.core.clock import to_iso
from licentia.server.network import client_ip
from licentia.server.state import state_of

_tz_name = ("", 0.0)


def _server_tz() -> str:
    """The server's time zone name, looked up at most once a minute (it changes only with DST)."""
    global _tz_name
    name, until = _tz_name
    now = time.monotonic()
    if now >= until:
        name = time.strftime("%Z")
        _tz_name = (name, now + 60)
    return name


def server_facts(request: Request, now: dt.datetime | None = None) -> dict[str, Any]:
    state = state_of(request.app)
    return {
        "received_at": to_iso(now or state.clock.now()),
        "external_ip": client_ip(request, state.trusted_proxies),
        "server_tz": _server_tz(),
    }
