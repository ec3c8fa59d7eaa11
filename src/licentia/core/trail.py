"""Hitek's proxy-log trail: the GET an application sends before posting an install, register or usage event.

Hitek's tracker sent each post first as a plain GET whose query carries every
field, so the proxies and firewalls between the application and the server log
the parameters: evidence the vendor can point to even when the software was
removed. A product turns it on (``proxy_trail`` in its signed status document);
the POST stays the record, the GET is the trail.

:func:`trail_targets` writes the request targets (``/v1/trail?...``, path and
query) every client sends, byte for byte (the conformance section
``proxy_trail``); :func:`usage_due_once` is the one-time usage post's rule. Only
the fields named in :data:`TRAIL_FIELDS` ever go into a query: no license key,
no credential, nothing the application did not choose to report.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from licentia.core.facts import FACT_NAMES, MAX_FREE_FIELDS

TRAIL_PATH = "/v1/trail"
# What Internet Explorer and many proxies accept as a request target; Hitek's own limit is not known.
MAX_TARGET_BYTES = 2000
# The three modes an application reports (Hitek's install, register and usage posts).
TRAIL_MODES = ("install", "register", "usage")
# The fields a trail carries, in the order they are written: the application's version, the client
# facts, then the free fields. Anything else (a license key, a credential, event data) is never sent.
TRAIL_FIELDS = (
    "version",
    *FACT_NAMES,
    *(f"{kind}_{n}" for kind in ("author", "tracker") for n in range(1, MAX_FREE_FIELDS + 1)),
)
END = "&end=1"
_UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")


def encode(text: str) -> str:
    """RFC 3986 percent-encoding of the UTF-8 bytes: unreserved characters kept, the rest ``%XX`` upper-case."""
    return "".join(chr(b) if b in _UNRESERVED else f"%{b:02X}" for b in text.encode("utf-8"))


def field_text(value: object) -> str:
    """A field's value as the query carries it: text as is, a flag as ``true``/``false``, an integer in decimal."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return value if isinstance(value, str) else ""


def trail_targets(product: str, mode: str, event_id: str, fields: Mapping[str, object]) -> list[str]:
    """The GETs' request targets for one event, each at most :data:`MAX_TARGET_BYTES` long.

    Fields are packed greedily in :data:`TRAIL_FIELDS` order, only those present and
    non-empty: a field goes into the current part when the part, with it and the final
    ``&end=1``, stays within the limit; else a new part starts (same ``p``, ``m``, ``i``,
    next ``n``). A field too long for an empty part is cut to the longest prefix of whole
    characters that fits.
    """

    def head(n: int) -> str:
        return f"{TRAIL_PATH}?p={encode(product)}&m={encode(mode)}&i={encode(event_id)}&n={n}"

    def fits(target: str, piece: str) -> bool:
        return len(target) + len(piece) + len(END) <= MAX_TARGET_BYTES

    parts: list[str] = []
    n = 1
    current = head(n)
    for name in TRAIL_FIELDS:
        text = field_text(fields.get(name))
        if not text:
            continue
        piece = f"&{name}={encode(text)}"
        if fits(current, piece):
            current += piece
            continue
        if current != head(n):
            parts.append(current)
            n += 1
            current = head(n)
        if not fits(current, piece):
            piece = f"&{name}="
            for char in text:
                if not fits(current, piece + encode(char)):
                    break
                piece += encode(char)
        current += piece
    parts.append(current + END)
    return parts


def usage_due_once(registered_at: dt.datetime | None, now: dt.datetime, every_days: int, sent: bool) -> bool:
    """The one-time usage post (Hitek's "usage post made one time only, X+1 days after registration").

    Sent once only: at the first online check at least ``every_days`` after the
    installation was registered (the signed ``registered_at``), never again once
    a usage report was sent. Without a registration time it is not sent.
    """
    if sent or registered_at is None:
        return False
    return now - registered_at >= dt.timedelta(days=every_days)
