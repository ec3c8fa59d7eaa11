"""Server facts: external IP (trusting X-Forwarded-For only from trusted proxies), reverse host names,
invalid key evidence, and client facts dropped unless the product collects them."""

from __future__ import annotations

import json
import sqlite3
import time
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from licentia.core.licensekeys import generate_key
from licentia.server.app import create_app
from licentia.server.evidence.reverse_dns import ReverseResolver, fill_once
from licentia.server.store.models import Device, table_of
from tests.server.evidence.conftest import events_of
from tests.server.helpers import Installation, fingerprint, verified

PROXY = "10.0.0.5"


def _client_behind(migrated: Any, clock: Any, trusted: list[str]) -> TestClient:
    settings = migrated.model_copy(update={"trusted_proxies": trusted})
    return TestClient(create_app(settings, clock=clock), client=(PROXY, 40000))


@pytest.mark.parametrize(
    ("trusted", "expected"),
    [(["10.0.0.0/8"], "203.0.113.9"), ([], PROXY), (["192.168.0.0/16"], PROXY)],
    ids=["trusted-proxy", "no-proxy-configured", "untrusted-proxy"],
)
def test_external_ip_honours_only_trusted_proxies(migrated, product, clock, engine, trusted, expected):
    with _client_behind(migrated, clock, trusted) as client:
        # The client forges a first hop; only the hop the trusted proxy saw counts.
        headers = {"X-Forwarded-For": "198.51.100.66, 203.0.113.9"}
        body = {"product": "acme", "fingerprint": fingerprint("acme")}
        response = client.post("/v1/check", json=body, headers=headers)
        verified(response, product.public_key)
    (check,) = events_of(engine, "check")
    assert check.server_facts["external_ip"] == expected
    assert check.server_facts["received_at"] == "2026-01-05T09:00:00Z" and check.server_facts["server_tz"]


def test_invalid_keys_are_recorded_with_prefix_and_reason(client, product, engine):
    app = Installation(client, product.public_key)
    app.check()
    typo = app.call("/v1/activate", key="ABCDE-FGHJK")
    assert typo.status_code == 400 and typo.json()["error"]["code"] == "invalid_key"
    forged = generate_key()  # well formed, never issued: what a key generator makes
    assert app.call("/v1/activate", key=forged).json()["error"]["code"] == "invalid_key"
    found = [(e.data["reason"], e.data["key_prefix"]) for e in events_of(engine, "invalid_key")]
    assert found == [("format", "ABCDE"), ("not_issued", forged.replace("-", "")[:5])]
    assert all(forged not in str(e.data) for e in events_of(engine, "invalid_key"))


def test_client_facts_are_dropped_unless_collected(client, product, engine):
    app = Installation(client, product.public_key)
    app.check(facts={"computer_name": "PC-1", "user_name": "ann"})
    assert app.credential
    client.post(
        "/v1/events",
        json={"events": [{"id": "i1", "kind": "install", "facts": {"user_name": "ann"}}]},
        headers={"Authorization": f"Device {app.credential['device']}:{app.credential['secret']}"},
    )
    assert [e.client_facts for e in events_of(engine)] == [{}, {}]
    assert all(e.server_facts["external_ip"] for e in events_of(engine))
    with engine.connect() as conn:
        assert conn.execute(table_of(Device).select()).one().facts == {}


def test_client_facts_are_kept_when_the_product_collects_them(client, collecting, engine):
    app = Installation(client, collecting.public_key)
    app.check(facts={"computer_name": "PC-1"})
    assert [e.client_facts for e in events_of(engine)] == [{"computer_name": "PC-1"}]


def test_resolver_times_out_and_caches():
    import asyncio

    async def scenario() -> None:
        resolver = ReverseResolver(timeout=2.0)
        assert await resolver.lookup("127.0.0.1") == "localhost"
        assert await resolver.lookup("not-an-ip") is None
        resolver._cache["192.0.2.1"] = (time.monotonic() + 60, "cached.example")
        assert await resolver.lookup("192.0.2.1") == "cached.example"
        slow = ReverseResolver(timeout=0.000001)
        assert await slow.lookup("192.0.2.7") is None  # TEST-NET: no answer within the timeout

    asyncio.run(scenario())


def test_reverse_host_is_filled_after_the_event_is_written(migrated, product, clock, engine):
    with TestClient(create_app(migrated, clock=clock), client=("127.0.0.1", 40000)) as client:
        Installation(client, product.public_key).check()
        (before,) = events_of(engine, "check")
        assert "reverse_host" not in before.server_facts  # the check did not wait for DNS
        watermark, scanned = client.portal.call(fill_once, client.app, ReverseResolver(), None)
        assert scanned == 1 and watermark == before.id
    (after,) = events_of(engine, "check")
    assert after.server_facts["reverse_host"] == "localhost"
    assert after.server_facts["external_ip"] == "127.0.0.1"


def test_live_server_fills_reverse_host_in_the_background(live_server):
    public_key = live_server.public_key()
    response = httpx.post(
        live_server.url + "/v1/check", json={"product": "my-app", "fingerprint": fingerprint("my-app")}
    )
    verified(response, public_key, "my-app")
    deadline = time.monotonic() + 15
    host = None
    while time.monotonic() < deadline and host is None:
        with sqlite3.connect(live_server.data_dir / "licentia.db") as db:
            facts = json.loads(db.execute("SELECT server_facts FROM events WHERE kind='check'").fetchone()[0])
        host = facts.get("reverse_host")
        time.sleep(0.2)
    assert host == "localhost"
