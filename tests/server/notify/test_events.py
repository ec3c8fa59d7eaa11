"""Device events from the public API notify the vendor, only when switched on for the product.

The app runs with its own delivery worker (started by ``setup``); mail goes to
a real SMTP server and webhooks to a real HTTP receiver.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from licentia.core.licensekeys import generate_key
from licentia.server.licenses.service import issue_license
from licentia.server.notify.rules import rules_cache
from licentia.server.notify.signature import verify_signature
from licentia.server.notify.webhook_specs import WebhookSpec
from licentia.server.notify.webhooks import create_webhook
from licentia.server.store.models import Product, table_of
from licentia.server.store.tables import outbox
from tests.server.helpers import Installation, auth

products = table_of(Product)
VENDOR = "ops@vendor.example"


def set_notify(engine: Any, product_id: int, notify: dict[str, Any]) -> None:
    with engine.begin() as conn:
        conn.execute(products.update().where(products.c.id == product_id).values(notify=notify))
    rules_cache.forget()  # the hook caches a product's rules for a few seconds


def wait_until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.05)


def outbox_rows(engine: Any) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(sa.select(outbox).order_by(outbox.c.id)).all())


def report(client: Any, app: Installation, *events: dict[str, Any]) -> Any:
    assert app.credential is not None
    response = client.post("/v1/events", json={"events": list(events)}, headers=auth(app.credential))
    assert response.status_code == 200, response.text
    return response.json()


def test_install_notifies_by_email_and_webhook_when_switched_on(
    settings, client, engine, product, clock, smtp, receiver
):
    set_notify(engine, product.id, {"emails": [VENDOR], "on": {"install": True}})
    with engine.begin() as conn:
        hook = create_webhook(
            conn,
            WebhookSpec(url=receiver.url, product="acme", events=["installation.created"]),
            now=clock.now(),
            fernet=settings.fernet(),
        )
    app = Installation(client, product.public_key)
    app.check()
    assert outbox_rows(engine) == []  # a check never notifies (the endpoint did not choose trial.started)
    install = {"id": "ev-install-1", "kind": "install", "data": {"version": "1.2.0"}}
    report(client, app, install)
    wait_until(lambda: len(smtp.messages) == 1 and len(receiver.deliveries) == 1)
    [message] = smtp.messages
    assert message["To"] == VENDOR and message["Subject"] == "[Acme Editor] New installation"
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "Version: 1.2.0" in text and app.credential and app.credential["device"] in text
    delivery = receiver.deliveries[0]
    verify_signature(delivery.body, delivery.headers["Licentia-Signature"], hook.secret, at=clock.now())
    body = delivery.json()
    assert body["event"] == "installation.created" and body["data"]["product"] == "acme"
    assert body["data"]["event"]["kind"] == "install" and body["data"]["event"]["data"] == {"version": "1.2.0"}
    # The client re-sends the same event (lost answer): nothing is sent twice.
    assert report(client, app, install) == {"accepted": 0, "duplicates": 1}
    time.sleep(0.3)
    assert len(smtp.messages) == 1 and len(receiver.deliveries) == 1
    assert all(r.sent_at is not None for r in outbox_rows(engine))


def test_nothing_is_queued_when_switched_off_or_unconfigured(client, engine, product, smtp):
    app = Installation(client, product.public_key)
    app.check()
    report(client, app, {"id": "a", "kind": "install"})  # defaults: no emails, everything off
    set_notify(engine, product.id, {"emails": [VENDOR], "on": {"install": False, "uninstall": True}})
    report(client, app, {"id": "b", "kind": "install"}, {"id": "c", "kind": "usage"})
    assert outbox_rows(engine) == []
    report(client, app, {"id": "d", "kind": "uninstall"})
    [row] = outbox_rows(engine)
    assert row.topic == "uninstall" and row.payload["to"] == [VENDOR]


def test_switches_default_on_once_emails_are_configured(client, engine, product, smtp):
    set_notify(engine, product.id, {"emails": [VENDOR, "not an address"]})
    app = Installation(client, product.public_key)
    app.check()
    report(client, app, {"id": "u1", "kind": "uninstall"})
    wait_until(lambda: len(smtp.messages) == 1)
    assert smtp.messages[0]["To"] == VENDOR  # the malformed address is ignored, not sent to


def test_feedback_email_quotes_the_text_and_replies_to_the_customer(client, engine, product, smtp):
    set_notify(engine, product.id, {"emails": [VENDOR], "on": {"feedback": True}})
    app = Installation(client, product.public_key)
    app.check()
    response = client.post(
        "/v1/feedback",
        json={"text": "Love it.\nBut <script>alert(1)</script> is shown", "email": "customer@example.org"},
        headers=auth(app.credential),  # type: ignore[arg-type]
    )
    assert response.status_code == 200
    wait_until(lambda: len(smtp.messages) == 1)
    message = smtp.messages[0]
    assert message["Reply-To"] == "customer@example.org"
    text = message.get_body(("plain",)).get_content().replace("\r\n", "\n")  # type: ignore[union-attr]
    assert "Love it.\nBut <script>" in text and "From: customer@example.org" in text
    html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert "&lt;script&gt;" in html and "<script>" not in html


def test_registration_and_piracy_signals(settings, client, engine, product, clock, smtp, receiver):
    set_notify(engine, product.id, {"emails": [VENDOR], "on": {"register": True, "piracy": True}})
    with engine.begin() as conn:
        create_webhook(
            conn,
            WebhookSpec(
                url=receiver.url, product="acme", events=["copy.suspected", "key.invalid", "license.over_limit"]
            ),
            now=clock.now(),
            fernet=settings.fernet(),
        )
        issued = issue_license(conn, product="acme", email="buyer@example.org", now=clock.now(), max_devices=1)
    first = Installation(client, product.public_key)
    first.check()
    assert first.call("/v1/activate", key=issued.key).status_code == 200
    # A key generator's keys, twice from one device: two webhook events, one email that day.
    second = Installation(client, product.public_key, machine="m2", disk="d2", mac="n2", path="/other")
    second.check()
    for _ in range(2):
        assert second.call("/v1/activate", key=generate_key()).status_code == 400
    # The genuine key on a second device: more devices than the license allows.
    assert second.call("/v1/activate", key=issued.key).status_code == 403
    wait_until(lambda: len(smtp.messages) == 3 and len(receiver.deliveries) == 3)
    subjects = sorted(m["Subject"] for m in smtp.messages)
    assert subjects == ["[Acme Editor] License activated", "[Acme Editor] Piracy signal", "[Acme Editor] Piracy signal"]
    reasons = sorted(d.json()["data"]["reason"] for d in receiver.deliveries)
    assert reasons == ["invalid_key", "invalid_key", "too_many_devices"]
    everything = " ".join(str(r.payload) for r in outbox_rows(engine))
    assert issued.key not in everything  # events carry key prefixes only
