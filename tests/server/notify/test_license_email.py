"""The customer's license email: the key arrives, and the outbox forgets it once sent."""

from __future__ import annotations

import asyncio
from typing import Any

import sqlalchemy as sa

from licentia.core.licensekeys import generate_key, masked
from licentia.server.licenses.key_email import send_license_email
from licentia.server.notify.worker import OutboxWorker
from licentia.server.store.engine import database_urls, make_async_engine
from licentia.server.store.tables import outbox


def deliver(settings: Any, clock: Any) -> int:
    async def main() -> int:
        engine = make_async_engine(database_urls(settings.resolved_database_url))
        worker = OutboxWorker(engine, settings=settings, clock=clock)
        try:
            return await worker.run_once()
        finally:
            await worker.aclose()
            await engine.dispose()

    return asyncio.run(main())


def stored_payload(engine: Any) -> dict[str, Any]:
    with engine.connect() as conn:
        return dict(conn.execute(sa.select(outbox.c.payload)).scalar_one())


def test_license_email_delivers_the_key_then_masks_it(engine, settings, clock, smtp):
    key = generate_key()
    with engine.begin() as conn:
        queued = send_license_email(
            conn,
            to="buyer@example.org",
            customer_name="Ada Lovelace",
            product_name="Acme Editor",
            key=key,
            now=clock.now(),
            dedupe_key="license:1:email",
            fernet=settings.fernet(),
        )
        again = send_license_email(
            conn,
            to="buyer@example.org",
            customer_name="Ada Lovelace",
            product_name="Acme Editor",
            key=key,
            now=clock.now(),
            dedupe_key="license:1:email",
            fernet=settings.fernet(),
        )
    assert queued and not again
    waiting = stored_payload(engine)
    # Until sent, the row holds the key only sealed with the server's key.
    assert key not in str(waiting) and masked(key) in waiting["text"] and waiting["sealed"]
    assert deliver(settings, clock) == 1
    [message] = smtp.messages
    assert message["To"] == "buyer@example.org"
    assert message["Subject"] == "Your license key for Acme Editor"
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert text.startswith("Hello Ada Lovelace,") and key in text
    assert key in message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    payload = stored_payload(engine)
    assert key not in str(payload) and "sealed" not in payload
    assert masked(key) in payload["text"] and masked(key) in payload["html"]


def test_license_email_waits_with_the_key_while_smtp_is_down(engine, settings, clock, smtp):
    smtp.stop()
    key = generate_key()
    with engine.begin() as conn:
        send_license_email(
            conn,
            to="b@example.org",
            customer_name=None,
            product_name="Acme",
            key=key,
            now=clock.now(),
            dedupe_key="x",
            fernet=settings.fernet(),
        )
    deliver(settings, clock)
    assert stored_payload(engine)["sealed"]  # not sent yet: kept (sealed) so a retry can deliver it
    smtp.start()
    clock.advance(minutes=2)
    deliver(settings, clock)
    assert key in smtp.messages[0].get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert smtp.messages[0].get_body(("plain",)).get_content().startswith("Hello,")  # type: ignore[union-attr]
    assert key not in str(stored_payload(engine))
