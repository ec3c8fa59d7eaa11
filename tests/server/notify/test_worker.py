"""The delivery worker against a real SMTP server and a real HTTP receiver, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import datetime as dt
import random
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import sqlalchemy as sa
from pydantic import SecretStr

from licentia.core.clock import ManualClock
from licentia.server.notify.backlog import failed_messages, outbox_counts, retry_failed
from licentia.server.notify.outbox import enqueue_email, enqueue_webhooks
from licentia.server.notify.signature import InvalidSignature, verify_signature
from licentia.server.notify.webhook_specs import WebhookSpec
from licentia.server.notify.webhooks import create_webhook
from licentia.server.notify.worker import OutboxWorker, backoff
from licentia.server.store.engine import database_urls, make_async_engine
from licentia.server.store.tables import outbox, webhooks

T = TypeVar("T")


def with_worker(settings: Any, clock: ManualClock, body: Callable[[OutboxWorker], Awaitable[T]]) -> T:
    """Run ``body`` with a worker on its own async engine (as a separate process would have)."""

    async def main() -> T:
        engine = make_async_engine(database_urls(settings.resolved_database_url))
        worker = OutboxWorker(engine, settings=settings, clock=clock, rng=random.Random(7))
        try:
            return await body(worker)
        finally:
            await worker.aclose()
            await engine.dispose()

    return asyncio.run(main())


def once(settings: Any, clock: ManualClock) -> int:
    return with_worker(settings, clock, lambda w: w.run_once())


def queue_email(engine: Any, clock: ManualClock, **kw: Any) -> None:
    fields = {"to": ["ops@vendor.example"], "subject": "Hello", "text": "Plain body", "topic": "test"}
    with engine.begin() as conn:
        enqueue_email(conn, now=clock.now(), **{**fields, **kw})


def row(engine: Any, message_id: int = 1) -> Any:
    with engine.connect() as conn:
        return conn.execute(sa.select(outbox).where(outbox.c.id == message_id)).one()


def test_email_is_proper_mime_with_text_html_id_and_date(engine, settings, clock, smtp):
    queue_email(engine, clock, html="<p>Hi <b>there</b></p>", reply_to="customer@example.org", dedupe_key="k1")
    assert once(settings, clock) == 1
    [message] = smtp.messages
    assert message["To"] == "ops@vendor.example"
    assert message["From"] == "Licentia <licentia@vendor.example>"
    assert message["Subject"] == "Hello"
    assert message["Reply-To"] == "customer@example.org"
    assert message["Message-ID"].startswith("<licentia.outbox.1.") and message["Message-ID"].endswith(
        "@vendor.example>"
    )
    assert message["Date"] == "Mon, 05 Jan 2026 09:00:00 +0000"
    assert message.get_content_type() == "multipart/alternative"
    assert message.get_body(("plain",)).get_content().strip() == "Plain body"  # type: ignore[union-attr]
    assert "<b>there</b>" in message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    sent = row(engine)
    assert sent.sent_at == clock.now() and sent.attempts == 1 and sent.claimed_until is None
    assert once(settings, clock) == 0  # nothing left, nothing sent twice
    assert len(smtp.messages) == 1


def test_dedupe_key_queues_a_cause_once(engine, clock):
    queue_email(engine, clock, dedupe_key="same-cause")
    queue_email(engine, clock, dedupe_key="same-cause")
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(outbox)).scalar_one() == 1


def test_smtp_authentication_is_used_when_configured(engine, settings, clock):
    from aiosmtpd.smtp import AuthResult

    from tests.server.notify.conftest import SmtpServer

    seen: list[tuple[bytes, bytes]] = []

    def authenticator(server, session, envelope, mechanism, auth_data):
        seen.append((auth_data.login, auth_data.password))
        return AuthResult(success=auth_data.password == b"right-password")

    server = SmtpServer(authenticator=authenticator, auth_require_tls=False).start()
    try:
        settings.smtp_port = server.port
        settings.smtp_username = "mailer"
        settings.smtp_timeout_seconds = 1.0  # aiosmtpd never answers a refused AUTH: fail fast
        settings.smtp_password = SecretStr("wrong-password")
        queue_email(engine, clock)
        once(settings, clock)
        failed = row(engine)
        assert failed.sent_at is None and failed.attempts == 1
        assert "wrong-password" not in (failed.last_error or "")
        settings.smtp_password = SecretStr("right-password")
        clock.advance(hours=1)
        once(settings, clock)
        assert row(engine).sent_at is not None
        assert seen[-1] == (b"mailer", b"right-password")
        assert len(server.messages) == 1
    finally:
        server.stop()


def test_webhook_is_signed_and_verifiable(engine, settings, clock, receiver, product):
    with engine.begin() as conn:
        hook = create_webhook(
            conn, WebhookSpec(url=receiver.url, product="acme"), now=clock.now(), fernet=settings.fernet()
        )
        enqueue_webhooks(
            conn,
            product_id=product.id,
            topic="installation.created",
            data={"device": "dv_1"},
            now=clock.now(),
            dedupe_key="e1",
        )
    assert once(settings, clock) == 1
    [delivery] = receiver.deliveries
    assert delivery.path == "/hooks/licentia?token=s3cr3t-in-url"
    assert delivery.headers["Content-Type"] == "application/json"
    verify_signature(delivery.body, delivery.headers["Licentia-Signature"], hook.secret, at=clock.now())
    body = delivery.json()
    assert body == {
        "id": "msg_1",
        "event": "installation.created",
        "topic": "installation.created",
        "created_at": "2026-01-05T09:00:00Z",
        "data": {"device": "dv_1"},
    }
    assert delivery.headers["Licentia-Event-Id"] == "msg_1"
    try:
        verify_signature(delivery.body, delivery.headers["Licentia-Signature"], "another-secret", at=clock.now())
        raise AssertionError("a wrong secret verified")
    except InvalidSignature:
        pass


def test_webhook_topics_filter_and_global_hooks(settings, engine, clock, receiver, product):
    with engine.begin() as conn:
        create_webhook(
            conn,
            WebhookSpec(
                url=receiver.url, product="acme", events=["copy.suspected", "key.invalid", "license.over_limit"]
            ),
            now=clock.now(),
            fernet=settings.fernet(),
        )
        create_webhook(conn, WebhookSpec(url=receiver.url), now=clock.now(), fernet=settings.fernet())  # every product
        queued = enqueue_webhooks(conn, product_id=product.id, topic="installation.created", data={}, now=clock.now())
    assert queued == 1


def test_email_retried_after_smtp_was_down_arrives_exactly_once(engine, settings, clock, smtp):
    smtp.stop()
    queue_email(engine, clock, dedupe_key="down-1")
    assert once(settings, clock) == 1
    first = row(engine)
    assert first.sent_at is None and first.attempts == 1 and first.claimed_until is None
    assert first.last_error.startswith("smtp: ")
    assert dt.timedelta(seconds=24) <= first.next_attempt_at - clock.now() <= dt.timedelta(seconds=36)
    assert once(settings, clock) == 0  # backing off: not due yet
    clock.advance(seconds=40)
    assert once(settings, clock) == 1  # still down: second failure, longer wait
    second = row(engine)
    assert second.attempts == 2
    assert dt.timedelta(seconds=48) <= second.next_attempt_at - clock.now() <= dt.timedelta(seconds=72)
    smtp.start()
    assert once(settings, clock) == 0
    clock.advance(seconds=80)
    assert once(settings, clock) == 1
    assert len(smtp.messages) == 1 and row(engine).sent_at is not None and row(engine).attempts == 3
    clock.advance(hours=2)
    assert once(settings, clock) == 0
    assert len(smtp.messages) == 1


def test_webhook_retried_after_receiver_failed_then_was_down(engine, settings, clock, receiver, product):
    with engine.begin() as conn:
        hook = create_webhook(
            conn, WebhookSpec(url=receiver.url, product="acme"), now=clock.now(), fernet=settings.fernet()
        )
        enqueue_webhooks(conn, product_id=product.id, topic="feedback", data={"n": 1}, now=clock.now())
    receiver.status = 503
    once(settings, clock)
    assert row(engine).last_error == "webhook: HTTP 503"
    receiver.stop()
    clock.advance(minutes=5)
    once(settings, clock)
    failed = row(engine)
    assert failed.attempts == 2 and failed.last_error.startswith("webhook: ConnectError")
    assert "s3cr3t-in-url" not in failed.last_error  # the URL's token never reaches the error
    receiver.status = 200
    receiver.start()
    clock.advance(minutes=5)
    once(settings, clock)
    assert len(receiver.deliveries) == 1
    delivery = receiver.deliveries[0]
    verify_signature(delivery.body, delivery.headers["Licentia-Signature"], hook.secret, at=clock.now())
    clock.advance(hours=3)
    assert once(settings, clock) == 0 and len(receiver.deliveries) == 1


def test_gives_up_after_max_attempts_but_keeps_the_row_and_can_retry(engine, settings, clock, smtp):
    settings.outbox_max_attempts = 3
    smtp.stop()
    queue_email(engine, clock)
    for _ in range(3):
        assert once(settings, clock) == 1
        clock.advance(hours=1)
    assert once(settings, clock) == 0  # given up: no fourth attempt
    failed = row(engine)
    assert failed.sent_at is None and failed.attempts == 3 and failed.last_error.startswith("gave up: smtp")
    with engine.connect() as conn:
        assert outbox_counts(conn, max_attempts=3).failed == 1
        [listed] = failed_messages(conn, max_attempts=3)
    assert listed.recipient == "ops@vendor.example" and listed.attempts == 3
    smtp.start()
    with engine.begin() as conn:
        assert retry_failed(conn, max_attempts=3, now=clock.now()) == 1
    assert once(settings, clock) == 1
    assert len(smtp.messages) == 1
    with engine.connect() as conn:
        counts = outbox_counts(conn, max_attempts=3)
    assert (counts.waiting, counts.failed, counts.sent) == (0, 0, 1)


def test_deleted_webhook_fails_permanently(engine, settings, clock, receiver, product):
    with engine.begin() as conn:
        hook = create_webhook(
            conn, WebhookSpec(url=receiver.url, product="acme"), now=clock.now(), fernet=settings.fernet()
        )
        enqueue_webhooks(conn, product_id=product.id, topic="install", data={}, now=clock.now())
        conn.execute(webhooks.delete().where(webhooks.c.id == hook.id))
    once(settings, clock)
    clock.advance(days=1)
    assert once(settings, clock) == 0
    failed = row(engine)
    assert failed.last_error == "gave up: webhook was deleted" and failed.sent_at is None


def test_emails_wait_without_smtp_and_burn_no_attempts(engine, settings, clock):
    settings.smtp_host = None
    queue_email(engine, clock)
    assert once(settings, clock) == 0
    assert row(engine).attempts == 0


def test_backoff_grows_and_is_capped_at_an_hour():
    rng = random.Random(1)
    delays = [backoff(n, rng=rng).total_seconds() for n in range(1, 20)]
    assert 24 <= delays[0] <= 36 and 48 <= delays[1] <= 72
    assert max(delays) <= 3600 and delays[-1] >= 2880


def test_two_workers_deliver_each_message_once(engine, settings, clock, smtp, receiver, product):
    with engine.begin() as conn:
        create_webhook(conn, WebhookSpec(url=receiver.url, product="acme"), now=clock.now(), fernet=settings.fernet())
        for n in range(25):
            enqueue_email(conn, to=[f"ops{n}@vendor.example"], subject=f"n{n}", text="x", topic="t", now=clock.now())
            enqueue_webhooks(conn, product_id=product.id, topic="install", data={"n": n}, now=clock.now())

    async def both() -> None:
        engines = [make_async_engine(database_urls(settings.resolved_database_url)) for _ in range(2)]
        # Small batches so the two workers really interleave their claims.
        workers = [OutboxWorker(e, settings=settings, clock=clock, batch_size=4) for e in engines]

        async def drain(worker: OutboxWorker) -> int:
            total = 0
            while n := await worker.run_once():
                total += n
            return total

        try:
            done = await asyncio.gather(*(drain(w) for w in workers))
            assert sum(done) == 50
        finally:
            for worker, eng in zip(workers, engines, strict=True):
                await worker.aclose()
                await eng.dispose()

    asyncio.run(both())
    assert sorted(m["Subject"] for m in smtp.messages) == sorted(f"n{n}" for n in range(25))
    assert sorted(d.json()["data"]["n"] for d in receiver.deliveries) == list(range(25))
    with engine.connect() as conn:
        assert outbox_counts(conn, max_attempts=16).sent == 50
