"""The delivery worker: one asyncio task in every server process.

Several processes on several hosts share one outbox, so a message is claimed
before it is sent: one statement sets ``claimed_until`` (a lease) on a batch of
due rows that nobody else holds. On PostgreSQL the rows are picked with
``FOR UPDATE SKIP LOCKED`` so concurrent workers take different rows instead of
waiting for each other; on SQLite ``BEGIN IMMEDIATE`` serialises the claims.
A worker that dies mid-send leaves its lease to expire, and another worker
sends the message again: delivery is at-least-once, and receivers dedupe by
``Licentia-Event-Id`` (webhooks) or ``Message-ID`` (email).

A failed attempt is recorded (``last_error``, ``attempts``) and retried with
exponential backoff and jitter. After ``outbox_max_attempts`` the row stays,
unsent, with its last error: failed, visible, never silently dropped
(:mod:`licentia.server.notify.backlog` lists and retries them).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import random
from dataclasses import dataclass
from typing import Any

import httpx
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from licentia.core.clock import Clock
from licentia.server.notify.delivery import (
    DeliveryFailed,
    post_webhook,
    send_email,
    stable_message_id,
    webhook_body,
)
from licentia.server.notify.sealing import LEGACY_REDACT, SEALED, SealBroken, forgotten, opened, sealed_legacy
from licentia.server.notify.webhooks import open_secret, seal_clear_secrets
from licentia.server.settings import Settings
from licentia.server.store.engine import READ_ONLY
from licentia.server.store.tables import outbox, webhooks

log = logging.getLogger("licentia.notify")

BACKOFF_BASE_SECONDS = 30.0
BACKOFF_CAP_SECONDS = 3600.0
# Longer than the slowest batch (each send is bounded by its timeout), so a
# lease never runs out while its worker is still sending.
LEASE_SECONDS = 300.0
BATCH_SIZE = 20


def backoff(attempts: int, *, rng: random.Random | None = None) -> dt.timedelta:
    """Delay before the next attempt after ``attempts`` failures: 30 s, 1 min, 2 min, ... capped at 1 h.

    Jitter (±20 %) spreads retries, so a receiver that comes back after an
    outage is not hit by every waiting message in the same second.
    """
    base = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** max(0, attempts - 1))
    jitter = (rng or random).uniform(0.8, 1.2)
    return dt.timedelta(seconds=min(BACKOFF_CAP_SECONDS, base * jitter))


@dataclass(frozen=True)
class Claimed:
    id: int
    channel: str
    topic: str
    payload: dict[str, Any]
    attempts: int
    created_at: dt.datetime


class OutboxWorker:
    """Claims due outbox rows and delivers them; ``run_once`` is one round (tests call it directly)."""

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        settings: Settings,
        clock: Clock,
        batch_size: int = BATCH_SIZE,
        lease_seconds: float = LEASE_SECONDS,
        rng: random.Random | None = None,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.clock = clock
        self.batch_size = batch_size
        self.lease = dt.timedelta(seconds=lease_seconds)
        self.max_attempts = max(1, settings.outbox_max_attempts)
        self.rng = rng or random.Random()  # jitter, not a secret
        self.http = httpx.AsyncClient(follow_redirects=False)
        # Opens the secrets sealed in queued emails (license keys), in memory, to send them.
        self.fernet = settings.fernet()
        self._legacy_sealed = False

    async def aclose(self) -> None:
        await self.http.aclose()

    @property
    def channels(self) -> tuple[str, ...]:
        # Without SMTP, emails are not claimed at all: they wait, unsent and
        # without burning attempts, until an SMTP host is configured.
        return ("email", "webhook") if self.settings.smtp_host else ("webhook",)

    async def run(self) -> None:
        """Deliver until cancelled; a database hiccup is logged and retried at the next poll."""
        if not self.settings.smtp_host:
            log.warning("SMTP is not configured: notification emails wait in the outbox")
        try:
            while True:
                try:
                    done = await self.run_once()
                except Exception as exc:  # keep the task alive: the next poll retries
                    log.error("outbox round failed: %s", type(exc).__name__)
                    done = 0
                if done < self.batch_size:
                    await asyncio.sleep(self.settings.outbox_poll_seconds)
        finally:
            await self.aclose()

    async def run_once(self) -> int:
        """Claim one batch of due messages, deliver them, record the outcomes; return how many."""
        if not self._legacy_sealed:
            await self.seal_legacy_rows()
            self._legacy_sealed = True
        batch = await self.claim()
        if batch:
            await asyncio.gather(*(self._deliver(message) for message in batch))
        return len(batch)

    async def seal_legacy_rows(self) -> int:
        """Seal the secrets of emails an older version queued in clear; return how many rows changed.

        Run once per process before its first round: an upgraded server does not
        keep the license keys that were waiting for SMTP in clear any longer.
        """
        query = sa.select(outbox.c.id, outbox.c.payload).where(outbox.c.sent_at.is_(None), outbox.c.channel == "email")
        async with self.engine.begin() as conn:
            hooks = await conn.run_sync(seal_clear_secrets, self.fernet)
            if hooks:
                log.info("sealed the secrets of %d webhook endpoints stored in clear by an older version", hooks)
            rows = (await conn.execute(query)).all()
            changed = 0
            for row in rows:
                sealed = sealed_legacy(dict(row.payload or {}), self.fernet)
                if sealed is not None:
                    await conn.execute(outbox.update().where(outbox.c.id == row.id).values(payload=sealed))
                    changed += 1
        if changed:
            log.info("sealed the secrets of %d queued emails written by an older version", changed)
        return changed

    async def claim(self) -> list[Claimed]:
        now = self.clock.now()
        due = (
            sa.select(outbox.c.id)
            .where(
                outbox.c.sent_at.is_(None),
                outbox.c.next_attempt_at <= now,
                outbox.c.attempts < self.max_attempts,
                sa.or_(outbox.c.claimed_until.is_(None), outbox.c.claimed_until < now),
                outbox.c.channel.in_(self.channels),
            )
            .order_by(outbox.c.next_attempt_at, outbox.c.id)
            .limit(self.batch_size)
        )
        if self.engine.dialect.name == "postgresql":
            due = due.with_for_update(skip_locked=True)
        stmt = (
            outbox.update()
            .where(outbox.c.id.in_(due.scalar_subquery()))
            .values(claimed_until=now + self.lease)
            .returning(
                outbox.c.id,
                outbox.c.channel,
                outbox.c.topic,
                outbox.c.payload,
                outbox.c.attempts,
                outbox.c.created_at,
            )
        )
        async with self.engine.begin() as conn:
            rows = (await conn.execute(stmt)).all()
        return sorted(
            (Claimed(r.id, r.channel, r.topic, dict(r.payload), r.attempts, r.created_at) for r in rows),
            key=lambda m: m.id,
        )

    async def _deliver(self, message: Claimed) -> None:
        now = self.clock.now()
        status: int | None = None
        try:
            if message.channel == "email":
                await send_email(
                    opened(message.payload, self.fernet),
                    settings=self.settings,
                    message_id=stable_message_id(message.id, message.created_at, self.settings.smtp_from),
                    now=now,
                )
            elif message.channel == "webhook":
                status = await self._post(message, now)
            else:
                raise DeliveryFailed(f"unknown channel {message.channel!r}", permanent=True)
        except SealBroken as exc:
            # Not permanent: the operator may put the right LICENTIA_SECRET_KEY back.
            await self._failed(message, str(exc), permanent=False)
        except DeliveryFailed as exc:
            await self._failed(message, str(exc), permanent=exc.permanent, status=exc.status)
        except Exception as exc:  # a bug in one message must not stop the others
            log.exception("outbox message %s: unexpected error", message.id)
            await self._failed(message, f"internal: {type(exc).__name__}", permanent=False)
        else:
            await self._sent(message, status=status)

    async def _post(self, message: Claimed, now: dt.datetime) -> int:
        webhook_id = message.payload.get("webhook_id")
        # The secret is read at delivery, not copied into the outbox: a rotated
        # secret applies to waiting messages, and the outbox holds no secrets.
        async with self.engine.connect() as conn:
            conn = await conn.execution_options(**{READ_ONLY: True})
            hook = (
                await conn.execute(
                    sa.select(webhooks.c.url, webhooks.c.secret, webhooks.c.active).where(webhooks.c.id == webhook_id)
                )
            ).first()
        if hook is None:
            raise DeliveryFailed("webhook was deleted", permanent=True)
        if not hook.active:
            raise DeliveryFailed("webhook is disabled", permanent=True)
        # A redelivery carries its original's id and time: the receiver sees the same event again.
        event_id = str(message.payload.get("event_id") or f"msg_{message.id}")
        created_at = message.created_at
        if message.payload.get("created_at"):
            created_at = dt.datetime.fromisoformat(str(message.payload["created_at"]))
        body = webhook_body(
            message_id=event_id,
            topic=message.topic,
            created_at=created_at,
            data=message.payload.get("data") or {},
        )
        secret = open_secret(hook.secret, self.fernet)
        return await post_webhook(self.http, url=hook.url, secret=secret, body=body, event_id=event_id, now=now)

    async def _sent(self, message: Claimed, *, status: int | None = None) -> None:
        now = self.clock.now()
        values: dict[str, Any] = {
            "sent_at": now,
            "claimed_until": None,
            "attempts": message.attempts + 1,
            "response_code": status,
            "last_error": None,
        }
        if SEALED in message.payload or LEGACY_REDACT in message.payload:
            values["payload"] = forgotten(message.payload)
        async with self.engine.begin() as conn:
            await conn.execute(outbox.update().where(outbox.c.id == message.id).values(**values))
        log.info("outbox message %s (%s/%s) sent", message.id, message.channel, message.topic)

    async def _failed(self, message: Claimed, error: str, *, permanent: bool, status: int | None = None) -> None:
        now = self.clock.now()
        attempts = message.attempts + 1
        gave_up = permanent or attempts >= self.max_attempts
        values: dict[str, Any] = {
            "claimed_until": None,
            "last_error": f"gave up: {error}" if gave_up else error,
            # A permanent failure counts as the last attempt, so it is not claimed again.
            "attempts": max(attempts, self.max_attempts) if permanent else attempts,
            "next_attempt_at": now + backoff(attempts, rng=self.rng),
            "response_code": status,
        }
        async with self.engine.begin() as conn:
            await conn.execute(outbox.update().where(outbox.c.id == message.id).values(**values))
        level = logging.ERROR if gave_up else logging.WARNING
        log.log(
            level,
            "outbox message %s (%s/%s) attempt %d failed: %s",
            message.id,
            message.channel,
            message.topic,
            attempts,
            error,
        )
