"""Clients name the protocol they speak (``Licentia-Protocol``); the server names its own in every answer.

A client speaking a protocol this server does not gets a clear 400 before anything is read or
written; one speaking protocol 1, or naming none (a web-API caller), is answered as always.
"""

from __future__ import annotations

import pytest

from tests.server.helpers import Installation, fingerprint
from tests.server.test_errors import counts


def test_the_protocol_spoken_is_named_in_every_answer(client, product):
    app = Installation(client, product.public_key)
    assert app.check()["status"] == "trial"
    answer = client.post(
        "/v1/check",
        json={"product": product.slug, "fingerprint": fingerprint(product.slug)},
        headers={"Licentia-Protocol": "1"},
    )
    assert answer.status_code == 200 and answer.headers["licentia-protocol"] == "1"
    assert client.get("/v1/nowhere").headers["licentia-protocol"] == "1"  # errors too
    assert "licentia-protocol" not in client.get("/healthz").headers  # not the public API


@pytest.mark.parametrize("spoken", ["2", "0", "1.1", "v1", "", "\x7f"])
def test_a_client_speaking_another_protocol_is_told_so_and_nothing_changes(client, product, engine, spoken):
    before = counts(engine)
    for path in ("/v1/check", "/v1/events", "/v1/activate"):
        answer = client.post(
            path,
            json={"product": product.slug, "fingerprint": fingerprint(product.slug)},
            headers={"Licentia-Protocol": spoken},
        )
        assert answer.status_code == 400, answer.text
        error = answer.json()["error"]
        assert error["code"] == "unsupported_protocol"
        assert "protocol 1" in error["message"] and error["supported"] == ["1"]
        assert answer.headers["licentia-protocol"] == "1"
    assert counts(engine) == before
