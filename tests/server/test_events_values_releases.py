"""Events (idempotent batches), the value store, feedback and releases."""

from __future__ import annotations

import sqlalchemy as sa

from licentia.server.products.service import get_product
from licentia.server.releases.service import publish
from licentia.server.store.models import Event, table_of
from tests.server.helpers import Installation, auth

events = table_of(Event)


def test_event_batches_are_idempotent_by_client_event_id(client, product, engine):
    app = Installation(client, product.public_key)
    app.check()
    batch = {"events": [{"id": f"e{i}", "kind": "usage", "data": {"n": i}} for i in range(5)]}
    first = client.post("/v1/events", json=batch, headers=auth(app.credential))
    again = client.post("/v1/events", json=batch, headers=auth(app.credential))
    assert first.json() == {"accepted": 5, "duplicates": 0}
    assert again.json() == {"accepted": 0, "duplicates": 5}
    with engine.connect() as conn:
        usage = conn.execute(
            sa.select(sa.func.count()).select_from(events).where(events.c.kind == "usage")
        ).scalar_one()
    assert usage == 5


def test_server_only_event_kinds_are_refused(client, product):
    app = Installation(client, product.public_key)
    app.check()
    response = client.post(
        "/v1/events", json={"events": [{"id": "x", "kind": "clone_suspected"}]}, headers=auth(app.credential)
    )
    assert response.status_code == 422


def test_an_occurrence_time_outside_any_calendar_the_server_keeps_is_refused_not_a_crash(client, product):
    app = Installation(client, product.public_key)
    app.check()
    for bogus in ("0001-01-01T00:00:00+05:00", "1969-12-31T23:59:59Z", "9999-12-31T23:59:59-05:00"):
        sent = {"events": [{"id": "t", "kind": "usage", "occurred_at": bogus}]}
        response = client.post("/v1/events", json=sent, headers=auth(app.credential))
        assert response.status_code == 422 and "between 1970 and 9000" in response.text, (bogus, response.text)
    fine = {"events": [{"id": "t", "kind": "usage", "occurred_at": "2026-11-29T08:00:00+05:00"}]}
    assert client.post("/v1/events", json=fine, headers=auth(app.credential)).json() == {"accepted": 1, "duplicates": 0}


def test_client_facts_are_dropped_unless_the_product_collects_them(client, product, engine):
    app = Installation(client, product.public_key)
    app.check(facts={"computer_name": "LAPTOP-7"})
    client.post(
        "/v1/events",
        json={"events": [{"id": "i", "kind": "install", "facts": {"user_name": "ann"}}]},
        headers=auth(app.credential),
    )
    with engine.connect() as conn:
        rows = conn.execute(sa.select(events.c.client_facts, events.c.server_facts)).all()
    assert all(row.client_facts == {} for row in rows)
    assert all(row.server_facts["external_ip"] for row in rows)


def test_values_are_scoped_to_the_device(client, product):
    a = Installation(client, product.public_key, machine="a", disk="a", mac="a")
    b = Installation(client, product.public_key, machine="b", disk="b", mac="b")
    a.check(), b.check()
    assert client.put("/v1/values/theme", json={"value": {"dark": True}}, headers=auth(a.credential)).status_code == 200
    assert client.get("/v1/values/theme", headers=auth(a.credential)).json()["value"] == {"dark": True}
    assert client.get("/v1/values/theme", headers=auth(b.credential)).json()["error"]["code"] == "unknown_value"
    too_big = client.put("/v1/values/blob", json={"value": "x" * 5000}, headers=auth(a.credential))
    assert too_big.status_code == 413 and too_big.json()["error"]["code"] == "value_too_large"
    unlicensed = client.put(
        "/v1/values/seat", json={"value": 1}, params={"scope": "license"}, headers=auth(a.credential)
    )
    assert unlicensed.json()["error"]["code"] == "not_registered"


def test_feedback_is_stored(client, product, engine):
    app = Installation(client, product.public_key)
    app.check()
    assert client.post("/v1/feedback", json={"text": "Love it"}, headers=auth(app.credential)).json()["accepted"] == 1
    with engine.connect() as conn:
        data = conn.execute(sa.select(events.c.data).where(events.c.kind == "feedback")).scalar_one()
    assert data["text"] == "Love it"


def test_latest_release_uses_version_order_not_publication_order(client, product, engine, clock):
    with engine.begin() as conn:
        pid = get_product(conn, "acme").id
        for version in ("1.10.0", "1.9.2", "2.0.0rc1"):
            publish(
                conn,
                product_id=pid,
                version=version,
                channel="stable",
                now=clock.now(),
                download_url=f"https://dl/{version}",
            )
        publish(conn, product_id=pid, version="2.1.0b1", channel="beta", now=clock.now())
    latest = client.get("/v1/releases/latest", params={"product": "acme", "current": "1.9.2"}).json()
    assert latest["version"] == "2.0.0rc1" and latest["newer"] is True
    assert (
        client.get("/v1/releases/latest", params={"product": "acme", "channel": "beta"}).json()["version"] == "2.1.0b1"
    )
    assert (
        client.get("/v1/releases/latest", params={"product": "acme", "current": "not a version"}).json()["error"][
            "code"
        ]
        == "invalid_version"
    )
    app = Installation(client, product.public_key)
    assert app.check()["latest_release"]["version"] == "2.0.0rc1"
