"""Webhook endpoints through the developer API and the CLI, against a real local receiver.

The app's own delivery worker sends what is queued; the test ping is sent by
the request itself. Secrets are never stored in clear.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

import sqlalchemy as sa

from licentia.server.auth.tokens import create_token
from licentia.server.cli import main
from licentia.server.notify.signature import verify_signature
from licentia.server.notify.webhooks import SEALED_PREFIX
from licentia.server.store.models import Webhook, table_of
from tests.server.notify.test_events import wait_until

webhooks = table_of(Webhook)


def bearer(engine: Any, clock: Any, scopes: list[str]) -> dict[str, str]:
    with engine.begin() as conn:
        made = create_token(conn, name="ops", scopes=scopes, now=clock.now(), created_by="test")
    return {"Authorization": f"Bearer {made.token}"}


def test_api_creates_tests_logs_redelivers_edits_and_disables(client, engine, clock, product, receiver):
    auth = bearer(engine, clock, ["write"])
    made = client.post(
        "/v1/admin/webhooks",
        json={"url": receiver.url, "events": ["license.created"], "product": "acme", "description": "CRM"},
        headers=auth,
    )
    assert made.status_code == 201, made.text
    hook = made.json()
    secret, hook_id = hook["secret"], hook["id"]
    assert hook["events"] == ["license.created"] and hook["product"] == "acme" and hook["active"]
    with engine.connect() as conn:
        stored = conn.execute(sa.select(webhooks.c.secret)).scalar_one()
    assert stored.startswith(SEALED_PREFIX) and secret not in stored  # sealed at rest

    tested = client.post(f"/v1/admin/webhooks/{hook_id}/test", headers=auth).json()
    assert tested["delivered"] and tested["response_code"] == 200
    [ping] = receiver.deliveries
    verify_signature(ping.body, ping.headers["Licentia-Signature"], secret, at=clock.now())
    assert ping.json()["event"] == "ping"

    issued = client.post("/v1/admin/licenses", json={"product": "acme", "email": "b@example.org"}, headers=auth)
    assert issued.status_code == 201
    wait_until(lambda: len(receiver.deliveries) == 2)
    created = receiver.deliveries[1]
    verify_signature(created.body, created.headers["Licentia-Signature"], secret, at=clock.now())
    assert created.json()["event"] == "license.created"
    assert created.json()["data"]["license"]["id"] == issued.json()["id"]

    log = client.get(f"/v1/admin/webhooks/{hook_id}/deliveries", headers=auth).json()
    assert [(d["event"], d["status"], d["response_code"]) for d in log] == [
        ("license.created", "delivered", 200),
        ("ping", "delivered", 200),
    ]
    again = client.post(f"/v1/admin/webhooks/{hook_id}/deliveries/{log[0]['id']}/redeliver", headers=auth)
    assert again.status_code == 202 and again.json()["redelivery_of"] == log[0]["id"]
    wait_until(lambda: len(receiver.deliveries) == 3)
    # The same event again: the receiver can tell (and drop) it by its event id.
    assert receiver.deliveries[2].headers["Licentia-Event-Id"] == created.headers["Licentia-Event-Id"]

    edited = client.patch(
        f"/v1/admin/webhooks/{hook_id}", json={"events": [], "rotate_secret": True, "product": None}, headers=auth
    ).json()
    assert edited["events"] == [] and edited["product"] is None and edited["secret"] != secret
    assert client.post(f"/v1/admin/webhooks/{hook_id}/disable", headers=auth).json()["active"] is False
    client.post("/v1/admin/licenses", json={"product": "acme", "email": "c@example.org"}, headers=auth)
    time.sleep(0.3)
    assert len(receiver.deliveries) == 3  # disabled: nothing queued for it
    assert client.post(f"/v1/admin/webhooks/{hook_id}/enable", headers=auth).json()["active"] is True
    assert client.delete(f"/v1/admin/webhooks/{hook_id}", headers=auth).status_code == 204
    assert client.get(f"/v1/admin/webhooks/{hook_id}", headers=auth).json()["error"]["code"] == "unknown_webhook"


def test_api_errors_are_clear_and_reads_need_no_write(client, engine, clock, product, receiver):
    reader = bearer(engine, clock, ["read"])
    writer = bearer(engine, clock, ["write"])
    assert client.get("/v1/admin/webhooks", headers=reader).json() == []
    events = {e["event"]: e["description"] for e in client.get("/v1/admin/webhook-events", headers=reader).json()}
    assert "trial.ending" in events and "quota.exceeded" in events and "ping" not in events
    refused = client.post("/v1/admin/webhooks", json={"url": receiver.url}, headers=reader)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "insufficient_scope"
    for body, code in (
        ({"url": "ftp://x"}, "invalid_webhook_url"),
        ({"url": receiver.url, "events": ["install", "nope"]}, "invalid_webhook_topics"),
        ({"url": receiver.url, "product": "nope"}, "unknown_product"),
    ):
        answer = client.post("/v1/admin/webhooks", json=body, headers=writer)
        assert answer.json()["error"]["code"] == code, answer.text
    assert client.post("/v1/admin/webhooks/99/test", headers=writer).json()["error"]["code"] == "unknown_webhook"
    made = client.post("/v1/admin/webhooks", json={"url": receiver.url}, headers=writer).json()
    gone = client.post(f"/v1/admin/webhooks/{made['id']}/deliveries/12345/redeliver", headers=writer)
    assert gone.status_code == 404 and gone.json()["error"]["code"] == "unknown_delivery"
    receiver.status = 500
    failed = client.post(f"/v1/admin/webhooks/{made['id']}/test", headers=writer).json()
    assert failed == {"delivery_id": failed["delivery_id"], "delivered": False, "response_code": 500,
                      "error": "webhook: HTTP 500"}  # fmt: skip


def test_cli_manages_webhooks_and_shows_the_delivery_log(engine, migrated, product, receiver, capsys):
    db = ["--database-url", migrated.resolved_database_url, "--data-dir", str(migrated.data_dir)]
    assert main(["webhook", "add", receiver.url, "--event", "license.created", "--product", "acme", *db]) == 0
    out = capsys.readouterr().out
    assert "#1 active" in out and "license.created" in out
    secret = out.split("stored only sealed): ")[1].strip()
    assert main(["webhook", "test", "1", *db]) == 0
    assert "ping #1 delivered: HTTP 200" in capsys.readouterr().out
    ping = receiver.deliveries[0]
    verify_signature(ping.body, ping.headers["Licentia-Signature"], secret, at=dt.datetime.now(dt.UTC))
    assert main(["webhook", "edit", "1", "--all-events", "--description", "CRM sync", *db]) == 0
    assert "every event  (CRM sync)" in capsys.readouterr().out
    assert main(["webhook", "disable", "1", *db]) == 0
    assert main(["webhook", "list", *db]) == 0
    assert "#1 disabled" in capsys.readouterr().out
    assert main(["webhook", "enable", "1", *db]) == 0
    assert main(["webhook", "deliveries", "1", *db]) == 0
    assert "ping delivered attempts 1 HTTP 200" in capsys.readouterr().out
    assert main(["webhook", "redeliver", "1", "1", *db]) == 0
    assert "queued again as #2" in capsys.readouterr().out
    receiver.stop()
    assert main(["webhook", "test", "1", *db]) == 1
    assert "not delivered: webhook: ConnectError" in capsys.readouterr().err
    assert main(["webhook", "add", "not a url", *db]) == 1
    assert "starts with https://" in capsys.readouterr().err
    assert main(["webhook", "edit", "7", "--url", receiver.url, *db]) == 1
    assert "no webhook endpoint 7" in capsys.readouterr().err
