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

from licentia.server.store.tables import events

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

    The partitioned table (store.partitions) cannot hold a unique index on
    ``(device_id, client_event_id)``: a re-sent event is received in another
    month than the first copy. So the ids already stored are looked up under a
    transaction lock per installation (two workers given the same re-sent
    batch take turns), then only the others are inserted.

    The look-up reads only the months a first copy can be in: from the
    earliest ``occurred_at`` of the batch (less :data:`CLIENT_CLOCK_SLACK`) to
    the time received. A first copy was received after its event occurred, so
    an event re-sent months later is still found; a daily check reads this
    month's partition, not every month's (each month's index probed for every
    check of a large fleet cost more than the check itself). An event without
    ``occurred_at`` is looked up in every month.
    """
    device_ids = sorted({device_id for device_id, _ in unique if device_id is not None})
    if device_ids:
        conn.execute(_LOCK_INSTALLATIONS, {"ids": device_ids})
        client_ids = sorted({client_id for device_id, client_id in unique if device_id is not None})
        received = [_naive_utc(row["received_at"]) for row in unique.values()]
        occurred = [row["occurred_at"] for row in unique.values()]
        since = _EVERY_MONTH
        if None not in occurred:
            try:
                since = max(min(min(map(_naive_utc, occurred)), min(received)) - CLIENT_CLOCK_SLACK, _EVERY_MONTH)
            except OverflowError:  # a time at the calendar's edge (year 1): every month it is
                since = _EVERY_MONTH
        until = max(received) + CLIENT_CLOCK_SLACK
        stored = conn.execute(
            _STORED_KEYS, {"devices": device_ids, "keys": client_ids, "since": since, "until": until}
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
# How far ahead of the server an application's clock may run for its re-sent events to be recognised.
CLIENT_CLOCK_SLACK = dt.timedelta(days=1)
_EVERY_MONTH = dt.datetime(1970, 1, 1)
# One statement text whatever the batch's size (arrays, not IN lists), so psycopg prepares it once
# and PostgreSQL prunes the months at execution instead of planning every partition per batch.
_STORED_KEYS = sa.text(
    "SELECT device_id, client_event_id FROM events"
    " WHERE device_id = ANY(CAST(:devices AS text[])) AND client_event_id = ANY(CAST(:keys AS text[]))"
    " AND received_at >= :since AND received_at < :until"
)


def _naive_utc(value: dt.datetime) -> dt.datetime:
    """As the ``timestamp`` columns hold times: UTC without a zone."""
    return value.astimezone(dt.UTC).replace(tzinfo=None) if value.tzinfo else value


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
        # The server's own events occur when it records them.
        "occurred_at": occurred_at if occurred_at is not None or client_event_id else received_at,
        "received_at": received_at,
        "data": data or {},
        "client_facts": client_facts or {},
        "server_facts": server_facts or {},
    }


def record_event(conn: sa.Connection, **fields: Any) -> bool:
    return bool(record_events(conn, [event_row(**fields)]))
