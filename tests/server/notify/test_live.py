"""A real ``licentia serve`` with two worker processes: each notification is delivered once."""

from __future__ import annotations

import time

import httpx
import pytest
from cryptography.fernet import Fernet

from licentia.core.clock import SystemClock
from licentia.server.notify.webhook_specs import WebhookSpec
from licentia.server.notify.webhooks import create_webhook
from licentia.server.store.engine import database_urls, make_sync_engine
from licentia.server.store.models import Product, table_of
from tests.conftest import LiveServer
from tests.server.helpers import Installation, auth

products = table_of(Product)


@pytest.mark.slow
def test_two_server_processes_deliver_each_notification_once(tmp_path, smtp, receiver):
    env = {
        "LICENTIA_SMTP_HOST": "127.0.0.1",
        "LICENTIA_SMTP_PORT": str(smtp.port),
        "LICENTIA_OUTBOX_POLL_SECONDS": "0.1",
    }
    server = LiveServer(tmp_path / "server", workers=2, env=env).start()
    try:
        engine = make_sync_engine(database_urls(f"sqlite:///{tmp_path / 'server' / 'licentia.db'}"))
        with engine.begin() as conn:
            conn.execute(
                products.update().where(products.c.slug == "my-app").values(notify={"emails": ["ops@vendor.example"]})
            )
            create_webhook(
                conn,
                WebhookSpec(url=receiver.url, product="my-app", events=["installation.created"]),
                now=SystemClock().now(),
                fernet=Fernet((tmp_path / "server" / "secret.key").read_bytes().strip()),
            )
        engine.dispose()
        with httpx.Client(base_url=server.url) as client:
            for n in range(8):
                app = Installation(client, server.public_key(), product="my-app", machine=f"m{n}", disk=f"d{n}")
                app.check()
                response = client.post(
                    "/v1/events",
                    json={"events": [{"id": f"install-{n}", "kind": "install"}]},
                    headers=auth(app.credential),  # type: ignore[arg-type]
                )
                assert response.json() == {"accepted": 1, "duplicates": 0}
        deadline = time.monotonic() + 20
        while (len(smtp.messages) < 8 or len(receiver.deliveries) < 8) and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(1)  # anything sent twice would have arrived by now
    finally:
        server.stop()
    assert len(smtp.messages) == 8
    ids = [d.headers["Licentia-Event-Id"] for d in receiver.deliveries]
    assert len(ids) == 8 and len(set(ids)) == 8
