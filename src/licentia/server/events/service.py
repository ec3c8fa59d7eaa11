"""Recording events: the one place an event row is written.

Writes are idempotent by ``(device_id, client_event_id)``: a client that
re-sends a batch after a lost answer, or a process killed mid-flush, never
makes a duplicate.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import sqlite

from licentia.server.store.models import Event, table_of

events = table_of(Event)

# Called with (conn, event row values) after an event is inserted; the
# notification outbox subscribes here so a notification is written in the
# same transaction as its cause.
EventHook = Callable[[sa.Connection, dict[str, Any]], None]
_hooks: list[EventHook] = []


def subscribe(hook: EventHook) -> None:
    if hook not in _hooks:
        _hooks.append(hook)


def _insert_ignoring_duplicates(conn: sa.Connection, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    unique: dict[tuple[Any, str], dict[str, Any]] = {}
    for row in rows:
        unique.setdefault((row["device_id"], row["client_event_id"]), row)
    if not unique:
        return []
    if conn.dialect.name == "postgresql":
        return _insert_new_postgresql(conn, unique)
    stmt = (
        sqlite.insert(events)
        .on_conflict_do_nothing(index_elements=["device_id", "client_event_id"])
        .returning(events.c.id, events.c.device_id, events.c.client_event_id)
    )
    # Many rows go out as multi-row INSERTs (SQLAlchemy's "insertmanyvalues"),
    # and RETURNING names only the rows that were new.
    inserted = {(r.device_id, r.client_event_id): r.id for r in conn.execute(stmt, list(unique.values()))}
    return [{**row, "id": inserted[key]} for key, row in unique.items() if key in inserted]


def _insert_new_postgresql(conn: sa.Connection, unique: dict[tuple[Any, str], dict[str, Any]]) -> list[dict[str, Any]]:
    """Idempotent without a unique index: the events of one installation are written one transaction at a time.

    The partitioned table (events.partitions) cannot hold a unique index on
    ``(device_id, client_event_id)``: a re-sent event is received in another
    month than the first copy. So the ids already stored are looked up under a
    transaction lock per installation (two workers given the same re-sent
    batch take turns), then only the others are inserted.
    """
    device_ids = sorted({device_id for device_id, _ in unique if device_id is not None})
    if device_ids:
        conn.execute(_LOCK_INSTALLATIONS, {"ids": device_ids})
        client_ids = sorted({client_id for device_id, client_id in unique if device_id is not None})
        stored = conn.execute(
            sa.select(events.c.device_id, events.c.client_event_id).where(
                events.c.device_id.in_(device_ids), events.c.client_event_id.in_(client_ids)
            )
        ).all()
        for device_id, client_id in stored:
            unique.pop((device_id, client_id), None)
    if not unique:
        return []
    stmt = events.insert().returning(events.c.id, sort_by_parameter_order=True)
    ids = [r.id for r in conn.execute(stmt, list(unique.values()))]
    return [{**row, "id": event_id} for row, event_id in zip(unique.values(), ids, strict=True)]


# Sorted by the lock key, so two transactions locking overlapping sets never wait on each other in a circle.
_LOCK_INSTALLATIONS = sa.text(
    "SELECT pg_advisory_xact_lock(7243002, k) FROM"
    " (SELECT DISTINCT hashtext(d) AS k FROM unnest(CAST(:ids AS text[])) AS d ORDER BY k) AS keys"
)


def record_events(conn: sa.Connection, rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Insert event rows; return those that were new (duplicates are skipped)."""
    new = _insert_ignoring_duplicates(conn, list(rows))
    for row in new:
        for hook in _hooks:
            hook(conn, row)
    return new


def event_row(
    *,
    product_id: int,
    device_id: str | None,
    kind: str,
    received_at: dt.datetime,
    license_id: int | None = None,
    client_event_id: str | None = None,
    occurred_at: dt.datetime | None = None,
    data: dict[str, Any] | None = None,
    client_facts: dict[str, Any] | None = None,
    server_facts: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "product_id": product_id,
        "device_id": device_id,
        "license_id": license_id,
        "kind": kind,
        "client_event_id": client_event_id or f"srv-{uuid.uuid4().hex}",
        "occurred_at": occurred_at,
        "received_at": received_at,
        "data": data or {},
        "client_facts": client_facts or {},
        "server_facts": server_facts or {},
    }


def record_event(conn: sa.Connection, **fields: Any) -> bool:
    return bool(record_events(conn, [event_row(**fields)]))
