"""What waits in the outbox, what failed, and sending failed messages again.

For the admin UI, the CLI and operators. A failed message is a row with
``sent_at`` empty and ``attempts`` at ``outbox_max_attempts``; retrying resets
its attempts so the worker takes it at the next poll.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from licentia.server.store.tables import outbox


@dataclass(frozen=True)
class OutboxCounts:
    waiting: int
    failed: int
    sent: int


@dataclass(frozen=True)
class FailedMessage:
    id: int
    channel: str
    topic: str
    recipient: str
    attempts: int
    last_error: str | None
    created_at: dt.datetime
    next_attempt_at: dt.datetime


def _failed(max_attempts: int) -> sa.ColumnElement[bool]:
    return sa.and_(outbox.c.sent_at.is_(None), outbox.c.attempts >= max_attempts)


def outbox_counts(conn: sa.Connection, *, max_attempts: int) -> OutboxCounts:
    failed = _failed(max_attempts)
    row = conn.execute(
        sa.select(
            sa.func.count().filter(outbox.c.sent_at.is_(None), sa.not_(failed)),
            sa.func.count().filter(failed),
            sa.func.count().filter(outbox.c.sent_at.is_not(None)),
        )
    ).one()
    return OutboxCounts(waiting=int(row[0]), failed=int(row[1]), sent=int(row[2]))


def _recipient(channel: str, payload: dict[str, Any]) -> str:
    # Webhook URLs may hold tokens: show the webhook by id only.
    if channel == "webhook":
        return f"webhook #{payload.get('webhook_id')}"
    return ", ".join(payload.get("to") or [])


def failed_messages(conn: sa.Connection, *, max_attempts: int, limit: int = 100) -> list[FailedMessage]:
    rows = conn.execute(sa.select(outbox).where(_failed(max_attempts)).order_by(outbox.c.id.desc()).limit(limit)).all()
    return [
        FailedMessage(
            id=r.id,
            channel=r.channel,
            topic=r.topic,
            recipient=_recipient(r.channel, r.payload or {}),
            attempts=r.attempts,
            last_error=r.last_error,
            created_at=r.created_at,
            next_attempt_at=r.next_attempt_at,
        )
        for r in rows
    ]


def retry_failed(conn: sa.Connection, *, max_attempts: int, now: dt.datetime, ids: Sequence[int] | None = None) -> int:
    """Make failed messages due again (all of them, or ``ids``); return how many."""
    stmt = outbox.update().where(_failed(max_attempts))
    if ids is not None:
        stmt = stmt.where(outbox.c.id.in_(list(ids)))
    return int(conn.execute(stmt.values(attempts=0, next_attempt_at=now, claimed_until=None)).rowcount)
