"""Activation: only a genuine, active key with a free seat raises a status; never over-allocated."""

from __future__ import annotations

import concurrent.futures
import json

import httpx
import pytest

from licentia.core.licensekeys import generate_key
from licentia.server.licenses.service import issue_license, set_license_state
from tests.conftest import LiveServer
from tests.server.helpers import Installation, auth, fingerprint


def issue(engine, clock, **kw):
    with engine.begin() as conn:
        return issue_license(conn, product="acme", email="buyer@example.com", now=clock.now(), **kw)


def test_activation_registers_and_is_signed(client, product, engine, clock):
    lic = issue(engine, clock, features=["pro"])
    app = Installation(client, product.public_key)
    app.check()
    doc = app.check("/v1/activate", key=lic.key.lower())
    assert doc["status"] == "registered" and doc["features"] == ["pro"]
    assert doc["license"]["key_prefix"] == lic.key_prefix
    assert app.check()["status"] == "registered"


@pytest.mark.parametrize(
    ("key", "code"),
    [("ABCDE-FGHJK-LMNPQ-RSTUV-WXYZ2", "invalid_key"), (None, "invalid_key")],
)
def test_bad_keys_are_refused_and_leave_status(client, product, key, code):
    app = Installation(client, product.public_key)
    app.check()
    response = app.call("/v1/activate", key=key or generate_key())
    assert response.status_code == 400 and response.json()["error"]["code"] == code
    assert app.check()["status"] == "trial"


@pytest.mark.parametrize(
    ("state", "code"),
    [("suspended", "license_suspended"), ("revoked", "license_revoked"), ("expired", "license_expired")],
)
def test_inactive_licenses_do_not_activate(client, product, engine, clock, state, code):
    lic = issue(engine, clock)
    with engine.begin() as conn:
        set_license_state(conn, license_id=lic.id, state=state, now=clock.now())
    app = Installation(client, product.public_key)
    app.check()
    response = app.call("/v1/activate", key=lic.key)
    assert response.status_code == 403 and response.json()["error"]["code"] == code
    assert app.check()["status"] == "trial"


def test_full_license_answers_too_many_devices_and_stale_seats_are_freed(client, product, engine, clock):
    lic = issue(engine, clock, max_devices=2)
    apps = [Installation(client, product.public_key, machine=f"m{i}", disk=f"d{i}", mac=f"n{i}") for i in range(3)]
    for app in apps[:2]:
        app.check()
        assert app.check("/v1/activate", key=lic.key)["status"] == "registered"
    apps[2].check()
    refused = apps[2].call("/v1/activate", key=lic.key)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "too_many_devices"
    # 180 days later only the third machine still runs: the two silent seats are released.
    clock.advance(days=181)
    apps[2].check()
    assert apps[2].check("/v1/activate", key=lic.key)["status"] == "registered"
    assert apps[0].check()["status"] == "trial_expired"


def test_deactivate_frees_the_seat(client, product, engine, clock):
    lic = issue(engine, clock, max_devices=1)
    a = Installation(client, product.public_key, machine="a", disk="a", mac="a")
    b = Installation(client, product.public_key, machine="b", disk="b", mac="b")
    a.check(), b.check()
    a.check("/v1/activate", key=lic.key)
    assert b.call("/v1/activate", key=lic.key).status_code == 403
    assert a.check("/v1/deactivate")["status"] == "trial"
    assert b.check("/v1/activate", key=lic.key)["status"] == "registered"


def test_no_public_endpoint_raises_a_status(client, product, engine, clock):
    """Every public call a client can make, with every status claim it could invent."""
    lic = issue(engine, clock)
    app = Installation(client, product.public_key)
    app.check()
    clock.advance(days=31)
    assert app.check()["status"] == "trial_expired"
    claims = {
        "status": "registered",
        "allowed": True,
        "trial_end": "2099-01-01T00:00:00Z",
        "license": {"state": "active"},
    }
    headers = auth(app.credential)
    client.post("/v1/check", json=app.body(**claims), headers=headers)
    client.post("/v1/deactivate", json=app.body(**claims), headers=headers)
    client.post(
        "/v1/events",
        json={"events": [{"id": "e1", "kind": "register", "data": {"status": "registered"}}]},
        headers=headers,
    )
    client.post("/v1/feedback", json={"text": "please register me", **claims}, headers=headers)
    client.put("/v1/values/status", json={"value": "registered"}, headers=headers)
    client.post("/v1/activate", json=app.body(key=generate_key(), **claims), headers=headers)
    typo = lic.key[:-1] + ("X" if lic.key[-1] != "X" else "Y")
    client.post("/v1/activate", json=app.body(key=typo, **claims), headers=headers)
    assert app.check()["status"] == "trial_expired"
    assert app.check("/v1/activate", key=lic.key)["status"] == "registered"


def _concurrent_activations(url: str, key: str, n: int = 50) -> list[int]:
    def one(i: int) -> int:
        with httpx.Client(base_url=url, timeout=60) as http:
            body = {
                "product": "my-app",
                "fingerprint": fingerprint("my-app", machine=f"m{i}", disk=f"d{i}", mac=f"n{i}"),
            }
            first = http.post("/v1/check", json=body)
            cred = json.loads(first.content)["credential"]
            return http.post("/v1/activate", json={**body, "key": key}, headers=auth(cred)).status_code

    with concurrent.futures.ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(one, range(n)))


@pytest.mark.slow
def test_fifty_concurrent_activations_never_over_allocate(tmp_path, database_url):
    workers = 2 if database_url.startswith("sqlite") else 3
    server = LiveServer(tmp_path / "server", database_url=database_url, workers=workers).start()
    try:
        key = server.cli("license", "issue", "--product", "my-app", "--email", "a@b.c", "--max-devices", "5")
        assert key.returncode == 0, key.stderr
        codes = _concurrent_activations(server.url, key.stdout.strip())
    finally:
        server.stop()
    assert codes.count(200) == 5
    assert codes.count(403) == 45


def test_key_guessing_is_rate_limited_per_machine(migrated, product, engine, clock):
    """Failed key attempts are counted in the database (shared by all workers): 429 + Retry-After."""
    import sqlalchemy as sa
    from fastapi.testclient import TestClient

    from licentia.server.app import create_app
    from licentia.server.store.models import RateLimit, table_of

    migrated.activation_attempts_per_hour = 3
    lic = issue(engine, clock)
    with TestClient(create_app(migrated, clock=clock)) as client:
        app = Installation(client, product.public_key)
        app.check()
        for _ in range(3):
            assert app.call("/v1/activate", key=generate_key()).json()["error"]["code"] == "invalid_key"
        limited = app.call("/v1/activate", key=lic.key)  # the guessing machine waits, even with a genuine key
        assert limited.status_code == 429 and limited.json()["error"]["code"] == "rate_limited"
        assert 0 < int(limited.headers["Retry-After"]) <= 3600
        clock.advance(hours=3)  # a later window: allowed again, and stale windows are forgotten
        assert app.call("/v1/activate", key=generate_key()).status_code == 400
        assert app.check("/v1/activate", key=lic.key)["status"] == "registered"
    with engine.connect() as conn:
        windows = conn.execute(sa.select(table_of(RateLimit).c.window_start)).scalars().all()
    assert len(set(windows)) == 1


def test_guessing_behind_a_shared_network_never_refuses_a_genuine_key(migrated, product, engine, clock):
    """Someone else's guessing from the same address must not lock a paying customer out."""
    from fastapi.testclient import TestClient

    from licentia.server.app import create_app

    migrated.activation_attempts_per_hour = 2
    lic = issue(engine, clock)
    with TestClient(create_app(migrated, clock=clock)) as client:
        # Guessers on many machines behind one address, until the network's wider limit is reached too.
        codes = []
        for n in range(12):
            guesser = Installation(client, product.public_key, machine=f"g{n}", disk=f"gd{n}", mac=f"gn{n}")
            guesser.check()
            for _ in range(2):
                codes.append(guesser.call("/v1/activate", key=generate_key()).json()["error"]["code"])
        assert codes[:2] == ["invalid_key", "invalid_key"] and codes[-1] == "rate_limited"
        customer = Installation(client, product.public_key, machine="office", disk="od", mac="on")
        customer.check()
        assert customer.call("/v1/activate", key=generate_key()).status_code == 429  # wrong keys still wait
        assert customer.check("/v1/activate", key=lic.key)["status"] == "registered"
