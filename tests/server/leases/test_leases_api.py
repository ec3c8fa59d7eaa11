"""Floating leases through the public API, on the real SQLite file and PostgreSQL, with a movable clock."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from licentia.core.clock import from_iso
from licentia.server.licenses.service import issue_license
from tests.server.leases.floating import Seat, code, floating_license


def seat(client: Any, product: Any, n: int, path: str = "/opt/app") -> Seat:
    return Seat(client, product.public_key, machine=f"m{n}", disk=f"d{n}", cpu=f"c{n}", mac=f"n{n}", path=path)


@pytest.fixture
def key(engine: Any, clock: Any) -> str:
    return floating_license(engine, clock.now(), seats=2, lease_seconds=600, borrow_days=5)


def test_seats_are_leased_to_at_most_n_machines_and_the_refusal_says_when_one_frees(client, product, key, clock):
    a, b, c = (seat(client, product, n) for n in range(3))
    doc = a.lease_doc(a.checkout(key))
    assert from_iso(doc["expires_at"]) == clock.now() + dt.timedelta(seconds=600)
    assert doc["borrowed"] is False and doc["heartbeat_seconds"] == 200 and doc["license"]["kind"] == "floating"
    assert doc["machine"] and doc["components"] and doc["device"] == a.device_id
    clock.advance(seconds=60)
    b.lease_doc(b.checkout(key))
    refused = c.checkout(key)
    assert refused.status_code == 409 and code(refused) == "no_seat_available"
    assert int(refused.headers["Retry-After"]) == 541  # a's lease ends first, 540 s from now
    assert "2026-01-05T09:10:00Z" in refused.json()["error"]["message"]


def test_a_second_installation_on_the_same_machine_shares_its_seat(client, product, engine, clock):
    key = floating_license(engine, clock.now(), seats=1)
    first, second = seat(client, product, 1, "/opt/app"), seat(client, product, 1, "/home/ann/app")
    one = first.lease_doc(first.checkout(key))
    two = second.lease_doc(second.checkout(key))
    assert one["machine"] == two["machine"] and one["lease"] != two["lease"]
    assert code(seat(client, product, 2).checkout(key)) == "no_seat_available"
    # Releasing one installation's lease leaves the machine's seat to the other.
    assert first.release().json()["state"] == "released"
    assert code(seat(client, product, 2).checkout(key)) == "no_seat_available"
    assert second.release().json()["state"] == "released"
    third = seat(client, product, 2)
    third.lease_doc(third.checkout(key))


def test_checking_out_again_renews_the_same_lease(client, product, key, clock):
    a = seat(client, product, 1)
    first = a.lease_doc(a.checkout(key))
    clock.advance(seconds=100)
    again = a.lease_doc(a.checkout(key))
    assert again["lease"] == first["lease"] and from_iso(again["expires_at"]) > from_iso(first["expires_at"])


def test_heartbeats_keep_a_lease_and_expiry_frees_the_seat(client, product, key, clock):
    a, b, c = (seat(client, product, n) for n in range(3))
    a.lease_doc(a.checkout(key))
    b.lease_doc(b.checkout(key))
    for _ in range(5):  # 25 minutes, far beyond one lease time, kept by heartbeats
        clock.advance(seconds=300)
        doc = a.lease_doc(a.heartbeat())
        assert from_iso(doc["expires_at"]) == clock.now() + dt.timedelta(seconds=600)
    # b sent none: its lease expired, and its seat goes to c at c's checkout.
    c.lease_doc(c.checkout(key))
    late = b.heartbeat()
    assert late.status_code == 410 and code(late) == "lease_expired"
    assert "expired" in late.json()["error"]["message"]
    assert code(b.checkout(key)) == "no_seat_available"


def test_release_frees_at_once_and_is_idempotent(client, product, key):
    a, b, c = (seat(client, product, n) for n in range(3))
    a.lease_doc(a.checkout(key))
    b.lease_doc(b.checkout(key))
    assert a.release().json()["state"] == "released"
    assert a.release().json()["state"] == "released"
    assert code(a.heartbeat()) == "lease_expired"
    c.lease_doc(c.checkout(key))


def test_a_lease_is_its_installations_alone(client, product, key):
    a, b = seat(client, product, 1), seat(client, product, 2)
    a.lease_doc(a.checkout(key))
    b.check()
    for response in (b.heartbeat(a.lease), b.release(a.lease)):
        assert response.status_code == 404 and code(response) == "unknown_lease"
    assert client.post(f"/v1/leases/{a.lease}/heartbeat").status_code == 401  # no credential
    bad = client.post("/v1/leases/ls_x/heartbeat", headers={"Authorization": "Device dv_1:nope"})
    assert bad.status_code == 422


def test_checkout_needs_the_credential_and_a_genuine_floating_key(client, product, key, engine, clock):
    a = seat(client, product, 1)
    nobody = client.post("/v1/leases", json={"product": "acme", "key": key})
    assert nobody.status_code == 401 and code(nobody) == "invalid_credential"
    assert code(a.checkout("ABCDE-FGHJK-MNPQR-STUVW-XYZ23")) == "invalid_key"
    with engine.begin() as conn:
        node_locked = issue_license(conn, product="acme", email="x@example.com", now=clock.now()).key
    refused = a.checkout(node_locked)
    assert refused.status_code == 409 and code(refused) == "not_floating"
    # And a floating key is refused by activation: its seats are leases.
    activation = a.call("/v1/activate", key=key)
    assert activation.status_code == 409 and code(activation) == "floating_license"
    assert a.checkout(key, borrow_days=0).status_code == 422
    unknown = client.post("/v1/leases", json={"product": "nope", "key": key})
    assert unknown.status_code == 404 and code(unknown) == "unknown_product"


def test_borrowing_holds_the_seat_for_its_days_within_the_type_limit(client, product, key, clock):
    a, b, c = (seat(client, product, n) for n in range(3))
    refused = a.checkout(key, borrow_days=6)
    assert refused.status_code == 422 and code(refused) == "borrow_not_allowed"
    doc = a.lease_doc(a.checkout(key, borrow_days=3))
    assert doc["borrowed"] is True and from_iso(doc["expires_at"]) == clock.now() + dt.timedelta(days=3)
    b.lease_doc(b.checkout(key))
    clock.advance(days=2)  # no heartbeat from a: the borrow still holds its seat, b's lease expired
    c.lease_doc(c.checkout(key))
    assert code(seat(client, product, 4).checkout(key)) == "no_seat_available"
    assert a.lease_doc(a.heartbeat())["expires_at"] == doc["expires_at"]  # a heartbeat never stretches a borrow
    clock.advance(days=1, seconds=1)
    assert code(a.heartbeat()) == "lease_expired"
    e = seat(client, product, 5)
    e.lease_doc(e.checkout(key))


def test_a_borrow_returned_early_frees_its_seat(client, product, engine, clock):
    key = floating_license(engine, clock.now(), seats=1, borrow_days=7)
    a, b = seat(client, product, 1), seat(client, product, 2)
    a.lease_doc(a.checkout(key, borrow_days=7))
    assert code(b.checkout(key)) == "no_seat_available"
    assert a.release().json()["state"] == "released"
    b.lease_doc(b.checkout(key))


def test_a_suspended_license_ends_its_leases_at_the_next_heartbeat(client, product, key, engine, clock):
    from licentia.server.licenses.changes import change_state

    a = seat(client, product, 1)
    a.lease_doc(a.checkout(key))
    with engine.begin() as conn:
        license_id = conn.exec_driver_sql("SELECT id FROM licenses ORDER BY id DESC LIMIT 1").scalar_one()
        change_state(conn, license_id=license_id, action="suspend", actor="test", now=clock.now())
    assert code(a.heartbeat()) == "license_suspended"
    assert code(a.heartbeat()) == "lease_expired"
    assert code(a.checkout(key)) == "license_suspended"


def test_wrong_keys_are_rate_limited_like_activations_then_even_the_right_key_waits(migrated, product, engine, clock):
    from fastapi.testclient import TestClient

    from licentia.server.app import create_app

    key = floating_license(engine, clock.now(), seats=2)
    migrated.activation_attempts_per_hour = 3
    with TestClient(create_app(migrated, clock=clock)) as client:
        guesser = seat(client, product, 1)
        wrong = "ABCDE-FGHJK-MNPQR-STUVW-XYZ23"
        assert [code(guesser.checkout(wrong)) for _ in range(3)] == ["invalid_key"] * 3
        limited = guesser.checkout(key)  # past the limit a machine learns nothing, not even of a right key
        assert (
            limited.status_code == 429 and code(limited) == "rate_limited" and int(limited.headers["Retry-After"]) > 0
        )
        clock.advance(hours=1)
        guesser.lease_doc(guesser.checkout(key))
