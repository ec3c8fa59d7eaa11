"""The server's own facts about a request (received time, external IP, time zone), stored beside the client's."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from fastapi import Request

from licentia.core.clock import to_iso
from licentia.server.network import Network, client_ip

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


def server_facts(request: Request, *, now: dt.datetime, trusted_proxies: list[Network]) -> dict[str, Any]:
    return {
        "received_at": to_iso(now),
        "external_ip": client_ip(request, trusted_proxies),
        "server_tz": _server_tz(),
    }
