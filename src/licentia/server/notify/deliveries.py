"""An endpoint's delivery log, sending one again, and the signed ``ping`` of "Send test".

The log is the outbox itself: every webhook delivery is an outbox row naming
its endpoint (``webhook_id``), with its attempts, the receiver's last HTTP
status and last error. A redelivery is a new row carrying the original's
event id and time, so the receiver sees the same event (and can dedupe it by
``Licentia-Event-Id``) while the log keeps both attempts' outcomes.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import httpx
import sqlalchemy as sa
from cryptography.fernet import Fernet

from licentia.core.clock import to_iso
from licentia.server.audit import AuditAction, record
from licentia.server.errors import ApiError, ErrorCode
from licentia.server.notify.catalog import PING
from licentia.server.notify.delivery import DeliveryFailed, post_webhook, webhook_body
from licentia.server.notify.outbox import message
from licentia.server.notify.webhooks import get_webhook, signing_secret, view_json
from licentia.server.store.tables import outbox

MAX_LOG = 200


@dataclass(frozen=True)
class Delivery:
    id: int
    event: str
    event_id: str
    status: str  # "delivered" | "waiting" | "retrying" | "failed"
    attempts: int
    response_code: int | None
    last_error: str | None
    created_at: dt.datetime
    next_attempt_at: dt.datetime
    delivered_at: dt.datetime | None
    redelivery_of: int | None

    def as_json(self) -> dict[str, Any]:
        return view_json(self, when=to_iso)


def _status(row: Any, max_attempts: int) -> str:
    if row.sent_at is not None:
        return "delivered"
    if row.attempts >= max_attempts:
        return "failed"
    return "retrying" if row.attempts else "waiting"


def _delivery(row: Any, max_attempts: int) -> Delivery:
    payload = row.payload or {}
    return Delivery(
        id=row.id,
        event=row.topic,
        event_id=str(payload.get("event_id") or f"msg_{row.id}"),
        status=_status(row, max_attempts),
        attempts=row.attempts,
        response_code=row.response_code,
        last_error=row.last_error,
        created_at=row.created_at,
        next_attempt_at=row.next_attempt_at,
        delivered_at=row.sent_at,
        redelivery_of=payload.get("redelivery_of"),
    )


def deliveries(conn: sa.Connection, *, webhook_id: int, max_attempts: int, limit: int = 50) -> list[Delivery]:
    """The endpoint's latest deliveries, newest first."""
    get_webhook(conn, webhook_id)
    rows = conn.execute(
        sa.select(outbox)
        .where(outbox.c.webhook_id == webhook_id, outbox.c.channel == "webhook")
        .order_by(outbox.c.id.desc())
        .limit(max(1, min(limit, MAX_LOG)))
    ).all()
    return [_delivery(row, max_attempts) for row in rows]


def failing(conn: sa.Connection) -> dict[int, dt.datetime]:
    """The endpoints whose latest delivery (test pings aside) is not delivered and was tried: when it was queued."""
    latest = (
        sa.select(sa.func.max(outbox.c.id))
        .where(outbox.c.channel == "webhook", outbox.c.topic != PING, outbox.c.webhook_id.is_not(None))
        .group_by(outbox.c.webhook_id)
    )
    rows = conn.execute(
        sa.select(outbox.c.webhook_id, outbox.c.created_at).where(
            outbox.c.id.in_(latest), outbox.c.sent_at.is_(None), outbox.c.attempts > 0
        )
    ).all()
    return {row.webhook_id: row.created_at for row in rows}


def redeliver(
    conn: sa.Connection, *, webhook_id: int, delivery_id: int, now: dt.datetime, actor: str = "system"
) -> int:
    """Queue delivery ``delivery_id`` of the endpoint again, due now; return the new delivery's id."""
    get_webhook(conn, webhook_id)
    row = conn.execute(
        sa.select(outbox).where(
            outbox.c.id == delivery_id, outbox.c.webhook_id == webhook_id, outbox.c.channel == "webhook"
        )
    ).first()
    if row is None:
        raise ApiError(ErrorCode.UNKNOWN_DELIVERY, f"webhook endpoint {webhook_id} has no delivery {delivery_id}")
    payload = dict(row.payload or {})
    payload.setdefault("event_id", f"msg_{row.id}")
    payload.setdefault("created_at", to_iso(row.created_at))
    payload["redelivery_of"] = row.id
    again = message(channel="webhook", topic=row.topic, payload=payload, now=now, webhook_id=webhook_id)
    new_id = conn.execute(outbox.insert().values(**again).returning(outbox.c.id)).scalar_one()
    record(
        conn,
        AuditAction.WEBHOOK_REDELIVER,
        webhook_id,
        actor=actor,
        now=now,
        delivery=delivery_id,
        new_delivery=int(new_id),
    )
    return int(new_id)


@dataclass(frozen=True)
class PingOutcome:
    delivery_id: int
    response_code: int | None
    error: str | None

    @property
    def ok(self) -> bool:
        return self.error is None


def _ping_row(conn: sa.Connection, *, webhook_id: int, now: dt.datetime) -> tuple[int, bytes]:
    """Write the ping's log row (before sending, so its id is the event id); return (id, body)."""
    view = get_webhook(conn, webhook_id)
    data = {"product": view.product, "webhook_id": webhook_id, "message": "a test from your Licentia server"}
    ping = message(
        channel="webhook",
        topic=PING,
        payload={"webhook_id": webhook_id, "topic": PING, "data": data, "test": True},
        now=now,
        webhook_id=webhook_id,
        # Claimed by nobody: the request sends it and records the outcome itself.
        claimed_until=now + dt.timedelta(days=36500),
    )
    new_id = int(conn.execute(outbox.insert().values(**ping).returning(outbox.c.id)).scalar_one())
    body = webhook_body(message_id=f"msg_{new_id}", topic=PING, created_at=now, data=data)
    return new_id, body


def start_ping(
    conn: sa.Connection, *, webhook_id: int, now: dt.datetime, fernet: Fernet
) -> tuple[int, str, str, bytes]:
    """The first half of a test: the log row, and what to send (the secret opened in memory only)."""
    delivery_id, body = _ping_row(conn, webhook_id=webhook_id, now=now)
    url, secret = signing_secret(conn, webhook_id=webhook_id, fernet=fernet)
    return delivery_id, url, secret, body


async def send_ping(*, delivery_id: int, url: str, secret: str, body: bytes, now: dt.datetime) -> PingOutcome:
    """The second half: POST the signed ping now (with its own short-lived client)."""
    async with httpx.AsyncClient(follow_redirects=False) as client:
        try:
            code = await post_webhook(client, url=url, secret=secret, body=body, event_id=f"msg_{delivery_id}", now=now)
        except DeliveryFailed as exc:
            return PingOutcome(delivery_id, exc.status, str(exc))
    return PingOutcome(delivery_id, code, None)


def finish_ping(conn: sa.Connection, *, outcome: PingOutcome, now: dt.datetime, max_attempts: int, actor: str) -> None:
    """Record the test's outcome in the log (a failed test is not retried: it counts as given up)."""
    values: dict[str, Any] = {"claimed_until": None, "response_code": outcome.response_code}
    if outcome.ok:
        values.update(sent_at=now, attempts=1, last_error=None)
    else:
        values.update(attempts=max(1, max_attempts), last_error=f"gave up: {outcome.error}")
    conn.execute(outbox.update().where(outbox.c.id == outcome.delivery_id).values(**values))
    row = conn.execute(sa.select(outbox.c.webhook_id).where(outbox.c.id == outcome.delivery_id)).scalar_one()
    record(
        conn,
        AuditAction.WEBHOOK_TEST,
        row,
        actor=actor,
        now=now,
        delivered=outcome.ok,
        response_code=outcome.response_code,
    )
