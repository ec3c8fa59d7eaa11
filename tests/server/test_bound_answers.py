"""Answers bound to their request: the client's nonce is signed into every online answer.

On the real SQLite file and PostgreSQL. Requests without a nonce (older
clients) keep working, and their answers carry none.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from licentia.server.licenses.service import issue_license
from tests.server.helpers import Installation, auth, verified
from tests.server.leases.floating import Seat, floating_license

NONCE = "q8Vf3LkP0aZx7Ww1nB2cDg"


def test_check_activate_and_deactivate_sign_the_nonce_they_were_sent(client, product, engine, clock):
    app = Installation(client, product.public_key)
    assert app.check(nonce=NONCE)["nonce"] == NONCE
    with engine.begin() as conn:
        key = issue_license(conn, product="acme", email="ann@example.com", now=clock.now()).key
    other = "x" * 128
    assert app.check("/v1/activate", key=key, nonce=other)["nonce"] == other
    deactivated = app.check("/v1/deactivate", nonce="-_" * 8)
    assert deactivated["nonce"] == "-_" * 8 and deactivated["status"] == "trial"


def test_a_request_without_a_nonce_is_answered_as_before(client, product):
    app = Installation(client, product.public_key)
    assert "nonce" not in app.check()
    assert "nonce" not in app.check(nonce=None)


@pytest.mark.parametrize(
    "nonce",
    ["short", "x" * 15, "x" * 129, "has space in it!!", "émoji😀émoji😀émoji😀", 12345678901234567890, ["a" * 22],
     {"n": "a" * 22}, True],
)  # fmt: skip
def test_a_malformed_nonce_is_refused_with_a_clear_error(client, product, nonce: Any):
    app = Installation(client, product.public_key)
    response = app.call("/v1/check", nonce=nonce)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "validation_error" and "nonce" in json.dumps(error)


def test_lease_checkout_and_heartbeat_sign_the_nonce(client, product, engine, clock):
    key = floating_license(engine, clock.now(), seats=1)
    seat = Seat(client, product.public_key)
    doc = seat.lease_doc(seat.checkout(key, nonce=NONCE))
    assert doc["nonce"] == NONCE
    assert seat.credential is not None
    beat = client.post(f"/v1/leases/{seat.lease}/heartbeat", json={"nonce": "b" * 22}, headers=auth(seat.credential))
    assert seat.lease_doc(beat)["nonce"] == "b" * 22
    assert "nonce" not in seat.lease_doc(seat.heartbeat())  # an older client's heartbeat, without a body
    refused = client.post(f"/v1/leases/{seat.lease}/heartbeat", json={"nonce": "?"}, headers=auth(seat.credential))
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "validation_error"
    assert "nonce" not in seat.lease_doc(seat.checkout(key))


def test_the_signed_answer_is_verified_with_its_nonce(client, product):
    response = Installation(client, product.public_key).call("/v1/check", nonce=NONCE)
    assert verified(response, product.public_key)["nonce"] == NONCE
