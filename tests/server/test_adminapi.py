"""The developer API: bearer tokens with scopes, license and device changes, event export, payment webhook."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from pydantic import SecretStr

from licentia.server.auth.tokens import create_token, revoke_token
from licentia.server.notify.signature import sign as sign_at
from licentia.server.store.models import ApiToken, AuditEntry, License, OutboxMessage, table_of
from tests.server.helpers import Installation

SECRET = "whsec-test-0123456789"


def sign(secret: str, timestamp: int, body: bytes) -> str:
    return sign_at(secret, body, at=dt.datetime.fromtimestamp(timestamp, dt.UTC))


def _token(engine: Any, clock: Any, scopes: list[str], name: str = "shop") -> tuple[int, str]:
    with engine.begin() as conn:
        made = create_token(conn, name=name, scopes=scopes, now=clock.now(), created_by="test")
    return made.id, made.token


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_tokens_scopes_and_revocation(client: Any, engine: Any, clock: Any, product: Any) -> None:
    _, reader = _token(engine, clock, ["read"], "reader")
    writer_id, writer = _token(engine, clock, ["write"], "writer")
    body = {"product": "acme", "email": "c@example.com"}
    assert client.post("/v1/admin/licenses", json=body).json()["error"]["code"] == "missing_token"
    denied = client.post("/v1/admin/licenses", json=body, headers=_bearer(reader))
    assert denied.status_code == 403 and denied.json()["error"]["code"] == "insufficient_scope"
    made = client.post("/v1/admin/licenses", json=body, headers=_bearer(writer))
    assert made.status_code == 201
    # write implies read
    assert client.get(f"/v1/admin/licenses/{made.json()['id']}", headers=_bearer(writer)).status_code == 200
    assert client.get(f"/v1/admin/licenses/{made.json()['id']}", headers=_bearer(reader)).status_code == 200
    with engine.begin() as conn:
        revoke_token(conn, token_id=writer_id, now=clock.now())
        hashes = conn.execute(sa.select(table_of(ApiToken).c.token_hash)).scalars().all()
    assert writer not in hashes and all(h.startswith("sha256:") for h in hashes)
    refused = client.post("/v1/admin/licenses", json=body, headers=_bearer(writer))
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "invalid_token"


def test_license_lifecycle_and_devices(client: Any, engine: Any, clock: Any, product: Any) -> None:
    _, token = _token(engine, clock, ["write"])
    auth = _bearer(token)
    made = client.post(
        "/v1/admin/licenses",
        json={"product": "acme", "email": "dana@example.com", "name": "Dana", "max_devices": 2, "order_ref": "A-1"},
        headers=auth,
    ).json()
    assert made["max_devices"] == 2 and made["customer"]["email"] == "dana@example.com"
    with engine.connect() as conn:
        mail = conn.execute(sa.select(table_of(OutboxMessage))).one()
    assert made["key"] not in str(mail.payload) and made["key_prefix"] in mail.payload["text"]

    app = Installation(client, product.public_key)
    app.check()
    app.check("/v1/activate", key=made["key"])
    lid = made["id"]
    seats = client.get(f"/v1/admin/licenses/{lid}/devices", headers=auth).json()
    assert [d["id"] for d in seats] == [app.device_id]

    assert client.post(f"/v1/admin/licenses/{lid}/suspend", headers=auth).json()["state"] == "suspended"
    assert app.check()["status"] == "suspended"
    assert client.post(f"/v1/admin/licenses/{lid}/reinstate", headers=auth).json()["state"] == "active"
    renewed = client.post(f"/v1/admin/licenses/{lid}/renew", json={"days": 365}, headers=auth).json()
    assert renewed["expires_at"].startswith("2027-01-05")
    both = client.post(f"/v1/admin/licenses/{lid}/renew", json={}, headers=auth)
    assert both.status_code == 422 and both.json()["error"]["code"] == "invalid_renewal"
    assert client.patch(f"/v1/admin/licenses/{lid}", json={"max_devices": 7}, headers=auth).json()["max_devices"] == 7
    revoked = client.post(f"/v1/admin/licenses/{lid}/revoke", headers=auth).json()
    assert revoked["state"] == "revoked" and revoked["devices_used"] == 0
    again = client.post(f"/v1/admin/licenses/{lid}/reinstate", headers=auth)
    assert again.status_code == 409 and again.json()["error"]["code"] == "license_revoked"
    missing = client.get("/v1/admin/licenses/999", headers=auth)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "unknown_license"

    device_id = app.device_id
    blocked = client.post(f"/v1/admin/devices/{device_id}/status", json={"status": "blocked"}, headers=auth).json()
    assert blocked["status"] == "blocked"
    clock.advance(days=40)
    client.post(f"/v1/admin/devices/{device_id}/status", json={"status": "trial_expired"}, headers=auth)
    extended = client.post(f"/v1/admin/devices/{device_id}/extend-trial", json={"days": 5}, headers=auth).json()
    assert extended["status"] == "trial"
    assert app.check()["status"] == "trial"

    with engine.connect() as conn:
        audit = conn.execute(sa.select(table_of(AuditEntry).c.actor, table_of(AuditEntry).c.action)).all()
    assert ("token:shop", "license.revoke") in audit and ("token:shop", "device.extend_trial") in audit


def test_event_export_pages_with_a_cursor(client: Any, engine: Any, clock: Any, product: Any) -> None:
    _, token = _token(engine, clock, ["read"])
    for n in range(5):
        Installation(client, product.public_key, machine=f"m{n}", disk=f"d{n}", mac=f"n{n}").check()
    seen: list[int] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2, "kind": "check"}
        if cursor:
            params["cursor"] = cursor
        page = client.get("/v1/admin/events", params=params, headers=_bearer(token)).json()
        seen += [e["id"] for e in page["events"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert len(seen) == 5 and seen == sorted(seen)
    csv_page = client.get("/v1/admin/events", params={"format": "csv", "limit": 3}, headers=_bearer(token))
    assert csv_page.headers["content-type"].startswith("text/csv")
    lines = csv_page.text.strip().splitlines()
    assert lines[0].startswith("id,product_id,device_id") and len(lines) == 4
    assert csv_page.headers["licentia-next-cursor"]
    bad = client.get("/v1/admin/events", params={"cursor": "zzz"}, headers=_bearer(token))
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_cursor"


def test_publish_release_and_openapi(client: Any, engine: Any, clock: Any, product: Any) -> None:
    _, token = _token(engine, clock, ["write"])
    made = client.post(
        "/v1/admin/releases", json={"product": "acme", "version": "3.0.0", "notes": "Big"}, headers=_bearer(token)
    )
    assert made.status_code == 201
    dup = client.post("/v1/admin/releases", json={"product": "acme", "version": "3.0.0"}, headers=_bearer(token))
    assert dup.status_code == 409 and dup.json()["error"]["code"] == "release_exists"
    paths = client.get("/openapi.json").json()["paths"]
    assert "/v1/admin/licenses" in paths and "/v1/hooks/payment" in paths and "/v1/admin/events" in paths
    assert not any(p.startswith("/admin") for p in paths)


@pytest.fixture
def hooked(migrated: Any, product: Any, clock: Any) -> Iterator[Any]:
    from fastapi.testclient import TestClient

    from licentia.server.app import create_app

    migrated.payment_webhook_secret = SecretStr(SECRET)
    with TestClient(create_app(migrated, clock=clock)) as test_client:
        yield test_client


def _deliver(client: Any, order: dict[str, Any], at: float, secret: str = SECRET) -> Any:
    raw = json.dumps(order).encode()
    headers = {"Licentia-Signature": sign(secret, int(at), raw), "Content-Type": "application/json"}
    return client.post("/v1/hooks/payment", content=raw, headers=headers)


def test_payment_webhook_signature_replay_and_idempotency(hooked: Any, engine: Any, clock: Any) -> None:
    now = clock.now().timestamp()
    order = {"order_id": "ORD-77", "product": "acme", "email": "eve@example.com", "name": "Eve", "extra": "ignored"}
    first = _deliver(hooked, order, now)
    assert first.status_code == 201 and first.json()["created"] is True and "key" not in first.json()
    again = _deliver(hooked, order, now + 30)
    assert again.status_code == 200 and again.json() == {**first.json(), "created": False}
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(table_of(License))).scalar_one() == 1
        assert conn.execute(sa.select(sa.func.count()).select_from(table_of(OutboxMessage))).scalar_one() == 1

    forged = _deliver(hooked, {**order, "order_id": "ORD-78"}, now, secret="guessed")
    assert forged.status_code == 401 and forged.json()["error"]["code"] == "invalid_signature"
    replay = _deliver(hooked, {**order, "order_id": "ORD-79"}, now - 301)
    assert replay.status_code == 401 and replay.json()["error"]["code"] == "stale_signature"
    raw = json.dumps({**order, "order_id": "ORD-80"}).encode()
    tampered = hooked.post(
        "/v1/hooks/payment",
        content=raw.replace(b"eve@", b"mallory@"),
        headers={"Licentia-Signature": sign(SECRET, int(now), raw)},
    )
    assert tampered.status_code == 401
    bad = _deliver(hooked, {"order_id": "X"}, now)
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "validation_error"


def test_payment_webhook_refuses_without_a_secret(client: Any, clock: Any) -> None:
    answer = _deliver(client, {"order_id": "1", "product": "acme", "email": "a@b.c"}, time.time())
    assert answer.status_code == 503 and answer.json()["error"]["code"] == "webhook_not_configured"


def test_an_expiry_no_database_can_keep_as_utc_is_refused_not_a_crash(
    client: Any, engine: Any, clock: Any, product: Any
) -> None:
    _, writer = _token(engine, clock, ["write"], "writer")
    for bogus in ("0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-05:00"):
        body = {"product": "acme", "email": "c@example.com", "expires_at": bogus, "send_email": False}
        refused = client.post("/v1/admin/licenses", json=body, headers=_bearer(writer))
        assert refused.status_code == 422 and "between 1970 and 9000" in refused.text, refused.text
    made = client.post(
        "/v1/admin/licenses", json={"product": "acme", "email": "c@example.com"}, headers=_bearer(writer)
    ).json()
    renewed = client.post(
        f"/v1/admin/licenses/{made['id']}/renew",
        json={"expires_at": "0001-01-01T00:00:00+05:00"},
        headers=_bearer(writer),
    )
    assert renewed.status_code == 422 and "between 1970 and 9000" in renewed.text, renewed.text
