"""POST /v1/check: automatic trials, identity by fingerprint, signed answers."""

from __future__ import annotations

import json

from tests.server.helpers import Installation, auth, fingerprint, verified


def test_first_contact_starts_a_signed_trial(client, product, clock):
    app = Installation(client, product.public_key)
    doc = app.check()
    assert doc["status"] == "trial" and doc["allowed"] is True
    assert doc["trial_end"] == "2026-02-04T09:00:00Z"  # 30 days on the server clock
    assert doc["device"].startswith("dv_") and app.credential and app.token


def test_trial_expires_on_the_server_clock(client, product, clock):
    app = Installation(client, product.public_key)
    app.check()
    clock.advance(days=30, seconds=1)
    doc = app.check()
    assert doc["status"] == "trial_expired" and doc["allowed"] is False


def test_reinstall_is_a_new_installation_on_the_same_machine_and_one_changed_part_is_tolerated(client, product, clock):
    first = Installation(client, product.public_key)
    original = first.check()
    clock.advance(days=3)
    reinstalled = Installation(client, product.public_key)  # no stored state
    doc = reinstalled.check()
    # Same machine, so the same trial (it does not restart); a new installation with its own credential.
    assert doc["machine"] == original["machine"] and doc["device"] != original["device"]
    assert doc["trial_end"] == original["trial_end"]
    new_disk = Installation(client, product.public_key, disk="d2")
    new_disk.credential, new_disk.token = reinstalled.credential, reinstalled.token
    changed = new_disk.check()
    assert changed["device"] == doc["device"] and changed["machine"] == doc["machine"]
    assert changed["components"]["disk"] == fingerprint("acme", disk="d2")["components"]["disk"]


def test_side_by_side_installs_are_separate_devices(client, product):
    a = Installation(client, product.public_key, path="/opt/app")
    b = Installation(client, product.public_key, path="/home/me/app")
    assert a.check()["device"] != b.check()["device"]


def test_web_api_device_id_needs_its_credential_after_first_contact(client, product):
    first = client.post("/v1/check", json={"product": "acme", "device_id": "customer-42"})
    credential = json.loads(first.content)["credential"]
    again = client.post("/v1/check", json={"product": "acme", "device_id": "customer-42"})
    assert again.status_code == 401
    assert again.json()["error"]["code"] == "device_credential_required"
    ok = client.post("/v1/check", json={"product": "acme", "device_id": "customer-42"}, headers=auth(credential))
    assert verified(ok, product.public_key)["device_id"] == "customer-42"


def test_client_cannot_claim_a_status(client, product):
    app = Installation(client, product.public_key)
    app.check()
    doc = app.check(status="registered", allowed=True, features=["pro"], license={"state": "active"})
    assert doc["status"] == "trial" and doc["features"] == []


def test_the_indexed_day_moves_once_a_day_and_last_seen_on_every_check(client, product, clock, engine):
    import datetime as dt

    import sqlalchemy as sa

    from licentia.server.admin.service import counts

    app = Installation(client, product.public_key)
    device = app.check()["device"]

    def row():
        with engine.connect() as conn:
            return conn.execute(sa.text("SELECT * FROM devices WHERE id = :id"), {"id": device}).one()._mapping

    first = row()
    clock.advance(hours=1)
    app.check()
    later = row()
    assert str(later["seen_day"]) == str(first["seen_day"]) == "2026-01-05"
    assert later["last_seen"] != first["last_seen"] and later["usage_count"] == first["usage_count"] + 1
    clock.advance(days=1)
    app.check()
    assert str(row()["seen_day"]) == "2026-01-06"
    with engine.connect() as conn:
        assert counts(conn, product.id, clock.now())["seen_24h"] == 1
        assert counts(conn, product.id, clock.now() + dt.timedelta(days=1, seconds=1))["seen_24h"] == 0
