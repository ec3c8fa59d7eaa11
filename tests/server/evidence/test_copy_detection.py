"""The rotating token of docs/design.md section 6, seen through the public API (TestClient, both databases)."""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa

from licentia.server.products.service import update_policy
from licentia.server.store.models import Device, table_of
from tests.server.evidence.conftest import events_of
from tests.server.helpers import Installation, auth, verified


def _copy(of: Installation, **fp: Any) -> Installation:
    """Another machine (or the same one) holding a copy of ``of``'s stored state."""
    copy = Installation(of.client, of.public_key, **fp)
    copy.credential, copy.token = dict(of.credential or {}), of.token
    return copy


def test_lost_response_is_tolerated_once_and_the_undelivered_token_stays_dead(client, product, engine):
    app = Installation(client, product.public_key)
    app.check()
    held = app.token
    undelivered = app.check()["token"]  # the answer is "lost": the app keeps ``held``
    app.token = held
    doc = app.check()
    assert doc["token"] not in (held, undelivered) and doc["clone_suspected"] is False
    assert events_of(engine, "clone_suspected") == []

    # Whoever received the lost answer is a copy: the undelivered token is dead.
    stray = _copy(app)
    stray.token = undelivered
    stray_doc = stray.check()
    assert stray_doc["token"] is None and stray_doc["clone_suspected"] is True

    # And the previous token was good for one retry only: a state frozen on it is caught.
    frozen = _copy(app)
    frozen.token = held
    assert frozen.check()["token"] is None
    reasons = [e.data["reason"] for e in events_of(engine, "clone_suspected")]
    assert reasons == ["stale_token", "stale_token"]
    # The live holder keeps rotating.
    assert app.check()["token"]


def test_stale_token_records_a_clone_with_both_sides_facts(client, collecting, engine):
    original = Installation(client, collecting.public_key)
    original.check(facts={"computer_name": "OFFICE-PC"})
    copy = _copy(original)
    original.check(facts={"computer_name": "OFFICE-PC"})  # rotates: the copy's token is now stale
    original.check(facts={"computer_name": "OFFICE-PC"})
    doc = copy.check(facts={"computer_name": "PIRATE-PC"})
    assert doc["token"] is None and doc["clone_suspected"] is True
    (event,) = events_of(engine, "clone_suspected")
    assert event.client_facts == {"computer_name": "PIRATE-PC"}
    assert event.data["other_side"]["facts"] == {"computer_name": "OFFICE-PC"}
    assert event.data["other_side"]["server_facts"]["external_ip"] == "testclient"
    assert event.server_facts["external_ip"] == "testclient" and "received_at" in event.server_facts
    # The copy presenting the same stale token again writes no second event.
    copy.check(facts={"computer_name": "PIRATE-PC"})
    assert len(events_of(engine, "clone_suspected")) == 1


def test_on_clone_block_makes_the_copy_blocked(client, product, engine):
    with engine.begin() as conn:
        update_policy(conn, product_id=product.id, values={"on_clone": "block"})
    original = Installation(client, product.public_key)
    original.check()
    copy = _copy(original)
    original.check()
    original.check()
    doc = copy.check()
    assert doc["status"] == "blocked" and doc["reason"] == "clone_suspected" and doc["allowed"] is False


def test_state_copied_to_another_machine_is_caught_by_the_token_chain_with_evidence_on_both(client, product, engine):
    original = Installation(client, product.public_key)
    first = original.check()
    # An image of the system disk on other hardware: the OS install (its machine id) came along.
    elsewhere = _copy(original, disk="d2", cpu="c2", mac="n2")
    # The copy checks first, with the live token: to the server that is a hardware change.
    moved = elsewhere.check()
    assert moved["device"] == first["device"] and moved["clone_suspected"] is False
    assert [e.data["changed"] for e in events_of(engine, "hardware_changed")] == [["cpu", "disk", "mac"]]
    # The old hardware then shows up with the old chain: that side is the copy.
    doc = original.check()
    assert doc["device"] != first["device"] and doc["clone_suspected"] is True and doc["license"] is None
    by_device = {e.device_id: e.data for e in events_of(engine, "clone_suspected")}
    assert by_device[first["device"]]["reason"] == "state_copied"
    assert by_device[doc["device"]]["copy_of"] == first["device"]
    assert elsewhere.check()["clone_suspected"] is True  # flagged on both sides


def test_web_api_device_copy_is_caught_by_its_token(client, product, engine):
    first = client.post("/v1/check", json={"product": "acme", "device_id": "shop-7"})
    credential = json.loads(first.content)["credential"]
    token = verified(first, product.public_key)["token"]

    def check(with_token: str | None) -> dict[str, Any]:
        body = {"product": "acme", "device_id": "shop-7", "token": with_token}
        return verified(client.post("/v1/check", json=body, headers=auth(credential)), product.public_key)

    newer = check(token)["token"]
    newest = check(newer)["token"]
    copy_doc = check(token)  # a copy still holding the first token
    assert copy_doc["token"] is None and copy_doc["clone_suspected"] is True
    assert check(newest)["token"]
    devices = table_of(Device)
    with engine.connect() as conn:
        flagged = conn.execute(sa.select(devices.c.clone_suspected).where(devices.c.external_id == "shop-7"))
        assert flagged.scalar_one() is True
