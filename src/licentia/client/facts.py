"""Client facts: optional context sent with checks and events as evidence (docs/design.md section 6).

Off unless the application turns them on (``facts=True`` or a list of names);
the vendor chooses which ones and must disclose them. ``DO_NOT_TRACK=1`` in
the environment, ``LICENTIA_NO_FACTS=1``, or the user's stored opt-out
(``Licentia.opt_out_of_facts()``) turn them off whatever the application says.
Collecting them makes no network traffic and starts no subprocess.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import getpass
import locale
import os
import platform
import socket
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from licentia.core.facts import FACT_NAMES, MAX_FREE_FIELDS

MAX_VALUE_LENGTH = 500  # the server refuses longer fact values


def escape(value: str) -> str:
    """Tabs and newlines escaped, so one fact stays one field in exports (CSV, logs)."""
    return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")[:MAX_VALUE_LENGTH]


def facts_disabled_by_environment() -> bool:
    return any(
        os.environ.get(name, "").strip().lower() in {"1", "true", "yes"}
        for name in ("DO_NOT_TRACK", "LICENTIA_NO_FACTS")
    )


def _computer_name() -> str | None:
    return platform.node() or None


def _user_name() -> str | None:
    try:
        return getpass.getuser()
    except (OSError, KeyError, ImportError):
        return None


def _domain() -> str | None:
    if sys.platform == "win32":
        return os.environ.get("USERDNSDOMAIN") or os.environ.get("USERDOMAIN")
    # The host name's own domain part: socket.getfqdn() would ask DNS (network traffic).
    node = platform.node()
    return node.partition(".")[2] or None


def _internal_ip() -> str | None:
    # connect() on a UDP socket picks a route and a source address without sending a packet.
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.connect(("192.0.2.1", 9))  # TEST-NET-1: documentation range, never routed to anyone
            return str(sock.getsockname()[0])
    except OSError:
        return None


def _local_time() -> str | None:
    now = dt.datetime.now().astimezone()
    return now.strftime("%Y-%m-%d %H:%M:%S %Z")


def _time_zone() -> str | None:
    name = os.environ.get("TZ", "").lstrip(":")
    if name and "/" in name and not name.startswith("/"):
        return name
    with contextlib.suppress(OSError):
        target = os.readlink("/etc/localtime")
        if "zoneinfo/" in target:
            return target.split("zoneinfo/", 1)[1]
    with contextlib.suppress(OSError):
        text = Path("/etc/timezone").read_text().strip()
        if text:
            return text
    return time.tzname[time.localtime().tm_isdst > 0] or None


def _locale() -> str | None:
    with contextlib.suppress(ValueError):
        lang = locale.getlocale()[0]
        if lang:
            return lang
    return os.environ.get("LC_ALL") or os.environ.get("LANG") or None


def _country() -> str | None:
    lang = _locale() or ""
    country = lang.split(".")[0].partition("_")[2]
    return country.upper() or None


def _registered(index: int) -> Callable[[], str | None]:
    def read() -> str | None:
        if sys.platform != "win32":
            return None
        from licentia.client.hardware.windows import registered_owner

        return registered_owner()[index]

    return read


_READERS: dict[str, Callable[[], str | None]] = {
    "computer_name": _computer_name,
    "user_name": _user_name,
    "domain": _domain,
    "os_name": lambda: platform.system() or None,
    "os_version": lambda: platform.release() or None,
    "internal_ip": _internal_ip,
    "local_time": _local_time,
    "time_zone": _time_zone,
    "locale": _locale,
    "country": _country,
    "registered_owner": _registered(0),
    "registered_organization": _registered(1),
}


def collect_facts(
    names: Iterable[str] = FACT_NAMES, *, authors: Sequence[str] = (), trackers: Sequence[str] = ()
) -> dict[str, str]:
    """Read the named facts (unknown names are refused) plus ``author_N`` and ``tracker_N`` fields."""
    facts: dict[str, str] = {}
    for name in names:
        reader = _READERS.get(name)
        if reader is None:
            raise ValueError(f"unknown fact {name!r}; known: {', '.join(FACT_NAMES)}")
        value = reader()
        if value:
            facts[name] = escape(value)
    for label, values in (("author", authors), ("tracker", trackers)):
        if len(values) > MAX_FREE_FIELDS:
            raise ValueError(f"at most {MAX_FREE_FIELDS} {label} fields")
        for i, value in enumerate(values, start=1):
            if value:
                facts[f"{label}_{i}"] = escape(str(value))
    return facts


def os_description() -> str:
    return f"{platform.system()} {platform.release()}".strip()
