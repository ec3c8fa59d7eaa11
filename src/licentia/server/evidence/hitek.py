"""The Hitek-compatible export: one tab-delimited row of 50 columns per install, register and usage post.

A vendor moving from Hitek's tracker keeps loading the same table: the 37 client
fields as the application recorded them, then the 13 server fields, ending with
``primkey`` (the external IP and the date). The case-comment columns (``legal1``
to ``legal3``, ``hitek1`` to ``hitek5``) hold the vendor's case notes on the
installation, its machine and its license, oldest first (``evidence.notes``).

A field never breaks the layout: a tab, a carriage return or a line feed in what
a user typed becomes a space. A value that a spreadsheet would run as a formula
gets a leading apostrophe, as the admin UI's other exports do. Only the three
modes an application reports are exported; the server's own records (checks,
suspected copies) are in the evidence reports.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa

from licentia.core.facts import FACT_NAMES, MAX_FREE_FIELDS
from licentia.core.vocabulary import EventKind
from licentia.server.evidence.notes import notes_about
from licentia.server.products.service import get_product
from licentia.server.store.tables import devices, events, licenses, products

# Hitek's three modes: the posts an application makes, in the export's ``mode`` column.
MODES = (EventKind.INSTALL, EventKind.REGISTER, EventKind.USAGE)
_POSTED = ("mode", "product", "version", "machine", "key")
_FREE = tuple(f"{kind}_{n}" for kind in ("author", "tracker") for n in range(1, MAX_FREE_FIELDS + 1))
CLIENT_COLUMNS = (*_POSTED, *FACT_NAMES, *_FREE)
LEGAL = ("legal1", "legal2", "legal3")
HITEK = ("hitek1", "hitek2", "hitek3", "hitek4", "hitek5")
SERVER_COLUMNS = ("received", "server_tz", "external_ip", "reverse_host", *LEGAL, *HITEK, "primkey")
COLUMNS = (*CLIENT_COLUMNS, *SERVER_COLUMNS)
PAGE = 2000
# What a spreadsheet would run as a formula (the admin UI's list exports guard the same way).
FORMULA_STARTS = ("=", "+", "-", "@")


def field(value: Any) -> str:
    """One field as the file holds it: text on one line, tabs and line breaks turned to spaces."""
    text = "" if value is None else value if isinstance(value, str) else str(value)
    text = text.replace("\r\n", " ").translate({9: " ", 10: " ", 13: " "})
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _when(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S")


def _comments(notes: list[dict[str, Any]]) -> list[str]:
    """The eight case-comment columns from the notes, oldest first; a ninth note on is added to the last."""
    said = [f"{note['created_at'][:10]} {note['author']}: {note['text']}" for note in notes]
    columns = said[: len(LEGAL) + len(HITEK)] + [""] * (len(LEGAL) + len(HITEK) - len(said))
    if len(said) > len(columns):
        columns[-1] = " | ".join(said[len(columns) - 1 :])
    return columns


def _row(event: Any, notes: list[dict[str, Any]]) -> list[str]:
    client = event.client_facts or {}
    server = event.server_facts or {}
    ip = server.get("external_ip") or ""
    posted = [event.kind, event.slug, event.app_version, event.device_id, event.key_prefix]
    facts = [client.get(name) for name in (*FACT_NAMES, *_FREE)]
    seen = [_when(event.received_at), server.get("server_tz"), ip, server.get("reverse_host")]
    return [field(v) for v in (*posted, *facts, *seen, *_comments(notes), f"{ip} {_when(event.received_at)}")]


def hitek_page(conn: sa.Connection, *, product: str | None, after: int, limit: int = PAGE) -> tuple[list[str], int]:
    """Up to ``limit`` rows (tab-joined lines) of events after id ``after``; the last id read (``after`` at the end)."""
    wanted = (events.c.id, events.c.kind, events.c.device_id, events.c.received_at, events.c.client_facts)
    joined = (products.c.slug, devices.c.app_version, devices.c.machine_id, devices.c.license_id)
    query = (
        sa.select(*wanted, events.c.server_facts, *joined, licenses.c.key_prefix)
        .select_from(
            events.join(products, products.c.id == events.c.product_id)
            .outerjoin(devices, devices.c.id == events.c.device_id)
            .outerjoin(licenses, licenses.c.id == sa.func.coalesce(events.c.license_id, devices.c.license_id))
        )
        .where(events.c.kind.in_([str(mode) for mode in MODES]), events.c.id > after)
        .order_by(events.c.id)
        .limit(limit)
    )
    if product:
        query = query.where(events.c.product_id == get_product(conn, product).id)
    rows = conn.execute(query).all()
    if not rows:
        return [], after
    notes = notes_about(
        conn,
        license_ids=[r.license_id for r in rows],
        device_ids=[r.device_id for r in rows],
        machine_ids=[r.machine_id for r in rows],
    )

    def about(row: Any) -> list[dict[str, Any]]:
        return [
            n
            for n in notes
            if n["device_id"] == row.device_id
            or (n["machine_id"] is not None and n["machine_id"] == row.machine_id)
            or (n["license_id"] is not None and n["license_id"] == row.license_id)
        ]

    return ["\t".join(_row(row, about(row))) for row in rows], rows[-1].id


def header() -> str:
    return "\t".join(COLUMNS)


def hitek_lines(read: Any, *, product: str | None) -> Iterator[str]:
    """The whole export, line by line (header first); ``read(fn, **kw)`` runs ``fn(conn, **kw)`` on a snapshot."""
    yield header() + "\n"
    after = 0
    while True:
        lines, after_next = read(hitek_page, product=product, after=after)
        yield from (line + "\n" for line in lines)
        if len(lines) < PAGE:
            return
        after = after_next
