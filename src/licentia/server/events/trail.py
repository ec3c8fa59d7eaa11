"""GET /v1/trail: Hitek's proxy-log trail, recorded part by part (docs/privacy.md, docs/web-api.md).

An application of a product with ``proxy_trail`` on sends each install, register
and usage event first as one or more plain GETs (``core.trail``), then POSTs it.
The GET carries no credential: anyone can send one, so a trail row is evidence
only beside the POSTed event of the same client event id (random, never shown to
anyone but the vendor), which is what the evidence pages show it with. A repeat
of a part (a retried flush) is recorded once.

Identify -> decide -> write: :func:`read_query` is the pure decision on the query
(an :class:`ApiError` ``invalid_trail`` naming what is wrong), :func:`record_part`
the write.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_to_bytes

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from licentia.core.trail import MAX_TARGET_BYTES, TRAIL_FIELDS, TRAIL_MODES, TRAIL_PATH
from licentia.server.errors import ApiError, ErrorCode
from licentia.server.store.tables import trail_requests

_EVENT_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
_SLUG = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")
_KNOWN = frozenset(TRAIL_FIELDS)
MAX_PARTS = 99
_READ_CHUNK = 500  # event ids per look-up: far below every database's limit of bound parameters


@dataclass(frozen=True, slots=True)
class TrailPart:
    product: str
    mode: str
    event_id: str
    part: int
    last: bool
    fields: dict[str, str]

    def without_facts(self) -> TrailPart:
        """The part as kept for a product that collects no client facts: the version only, as for its POST."""
        fields = {name: value for name, value in self.fields.items() if name == "version"}
        return TrailPart(self.product, self.mode, self.event_id, self.part, self.last, fields)


def _refused(message: str) -> ApiError:
    return ApiError(ErrorCode.INVALID_TRAIL, message)


def _text(raw: str, name: str) -> str:
    try:
        return unquote_to_bytes(raw).decode("utf-8")
    except UnicodeDecodeError:
        raise _refused(f"{name}: not UTF-8 once percent-decoded") from None


def read_query(query: str) -> TrailPart:
    """The part a trail GET's raw query names, or ``invalid_trail`` saying what is wrong."""
    if len(TRAIL_PATH) + 1 + len(query.encode("utf-8", "replace")) > MAX_TARGET_BYTES:
        raise _refused(f"the request target is longer than {MAX_TARGET_BYTES} bytes")
    pairs: dict[str, str] = {}
    for item in query.split("&") if query else ():
        name, equals, raw = item.partition("=")
        if not equals:
            raise _refused(f"{name[:40]!r} has no value")
        if name not in _KNOWN and name not in ("p", "m", "i", "n", "end"):
            raise _refused(
                f"unknown field {name[:40]!r}; a trail carries p, m, i, n, end and {', '.join(TRAIL_FIELDS)}"
            )
        if name in pairs:
            raise _refused(f"{name} is given twice")
        pairs[name] = _text(raw, name)
    missing = [name for name in ("p", "m", "i", "n") if name not in pairs]
    if missing:
        raise _refused(f"missing {', '.join(missing)}")
    if not _SLUG.fullmatch(pairs["p"]):
        raise _refused("p is not a product slug")
    if pairs["m"] not in TRAIL_MODES:
        raise _refused(f"m is one of {', '.join(TRAIL_MODES)}")
    if not _EVENT_ID.fullmatch(pairs["i"]):
        raise _refused("i is an event id: 1 to 64 letters, digits, '.', '_', ':' or '-'")
    number = pairs["n"]
    if not (number.isascii() and number.isdigit() and not number.startswith("0") and int(number) <= MAX_PARTS):
        raise _refused(f"n is a part number from 1 to {MAX_PARTS}")
    if pairs.get("end", "1") != "1":
        raise _refused("end, when given, is 1")
    fields = {name: value for name, value in pairs.items() if name in _KNOWN and value}
    return TrailPart(pairs["p"], pairs["m"], pairs["i"], int(number), "end" in pairs, fields)


def record_part(
    conn: sa.Connection, *, product_id: int, part: TrailPart, server_facts: dict[str, Any], now: dt.datetime
) -> bool:
    """Keep one part of a trail; False when it was recorded before (the same product, event id and part)."""
    insert = (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(trail_requests)
    row = {
        "product_id": product_id,
        "mode": part.mode,
        "client_event_id": part.event_id,
        "part": part.part,
        "last": part.last,
        "fields": part.fields,
        "server_facts": server_facts,
        "received_at": now,
    }
    stmt = insert.values(**row).on_conflict_do_nothing(index_elements=["product_id", "client_event_id", "part"])
    return bool(conn.execute(stmt.returning(trail_requests.c.id)).first())


def trails_of(conn: sa.Connection, *, product_id: int, event_ids: list[str]) -> dict[str, dict[str, Any]]:
    """The trail of each of these client event ids that has one: when and from where it came, its fields merged."""
    rows: list[Any] = []
    for start in range(0, len(event_ids), _READ_CHUNK):
        rows += conn.execute(
            sa.select(trail_requests)
            .where(
                trail_requests.c.product_id == product_id,
                trail_requests.c.client_event_id.in_(event_ids[start : start + _READ_CHUNK]),
            )
            .order_by(trail_requests.c.client_event_id, trail_requests.c.part)
        ).all()
    trails: dict[str, dict[str, Any]] = {}
    for row in rows:
        trail = trails.setdefault(
            row.client_event_id,
            {
                "mode": row.mode,
                "received_at": row.received_at,
                "external_ip": (row.server_facts or {}).get("external_ip"),
                "parts": 0,
                "whole": False,
                "fields": {},
            },
        )
        trail["parts"] += 1
        trail["whole"] = trail["whole"] or (row.last and row.part == trail["parts"])
        trail["received_at"] = min(trail["received_at"], row.received_at)
        for name, value in (row.fields or {}).items():
            trail["fields"].setdefault(name, value)
    return trails
