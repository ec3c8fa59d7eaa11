"""Reading events for export: keyset pages by id, so a page never shifts under concurrent writes."""

from __future__ import annotations

import base64
import csv
import datetime as dt
import io
import json
from typing import Any

import sqlalchemy as sa

from licentia.server.errors import ApiError, ErrorCode
from licentia.server.fields import MAX_ROW_ID
from licentia.server.products.service import get_product
from licentia.server.store.tables import events

COLUMNS = (
    "id",
    "product_id",
    "device_id",
    "license_id",
    "kind",
    "client_event_id",
    "occurred_at",
    "received_at",
    "data",
    "client_facts",
    "server_facts",
)


def encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(f"e{last_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        last_id = int(text[1:]) if text.startswith("e") and text[1:].isascii() else -1
        if not 0 <= last_id <= MAX_ROW_ID:
            raise ValueError(text)
        return last_id
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(ErrorCode.INVALID_CURSOR, "the cursor is not one this API gave out") from exc


def event_page(
    conn: sa.Connection,
    *,
    product: str | None,
    kind: str | None,
    device_id: str | None,
    license_id: int | None,
    since: dt.datetime | None,
    until: dt.datetime | None,
    cursor: str | None,
    limit: int,
) -> tuple[list[dict[str, Any]], str | None]:
    query = sa.select(*(events.c[name] for name in COLUMNS)).order_by(events.c.id).limit(limit + 1)
    if product:
        query = query.where(events.c.product_id == get_product(conn, product).id)
    if kind:
        query = query.where(events.c.kind == kind)
    if device_id:
        query = query.where(events.c.device_id == device_id)
    if license_id is not None:
        query = query.where(events.c.license_id == license_id)
    if since is not None:
        query = query.where(events.c.received_at >= since)
    if until is not None:
        query = query.where(events.c.received_at < until)
    if cursor:
        query = query.where(events.c.id > decode_cursor(cursor))
    rows = [dict(row._mapping) for row in conn.execute(query)]
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, encode_cursor(rows[-1]["id"]) if more and rows else None


def as_csv(rows: list[dict[str, Any]], *, header: bool = True) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    if header:
        writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow(
            [
                json.dumps(v, sort_keys=True)
                if isinstance(v, dict)
                else v.isoformat()
                if isinstance(v, dt.datetime)
                else ("" if v is None else v)
                for v in (row[c] for c in COLUMNS)
            ]
        )
    return out.getvalue()
