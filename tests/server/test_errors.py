"""Bad input gets a clean JSON 4xx with a stable code, never a 500, and changes nothing."""

from __future__ import annotations

import sqlalchemy as sa

from licentia.server.store.models import Device, Event, table_of
from tests.server.helpers import Installation, fingerprint


def counts(engine):
    with engine.connect() as conn:
        return tuple(
            conn.execute(sa.select(sa.func.count()).select_from(table_of(t))).scalar_one() for t in (Device, Event)
        )


def assert_error(response, status, code):
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"]["code"] == code and body["error"]["message"]


def test_bad_requests_are_answered_cleanly_and_change_nothing(client, product, engine):
    before = counts(engine)
    assert_error(
        client.post("/v1/check", content=b"{not json", headers={"content-type": "application/json"}),
        400,
        "malformed_json",
    )
    assert_error(
        client.post("/v1/check", json={"product": "acme", "fingerprint": {"components": {"machine": 42}}}),
        422,
        "validation_error",
    )
    assert_error(client.post("/v1/check", json={"product": ["acme"]}), 422, "validation_error")
    assert_error(
        client.post("/v1/check", json={"product": "acme", "fingerprint": {"components": {"machine": "zz"}}}),
        422,
        "validation_error",
    )
    assert_error(
        client.post("/v1/check", json={"product": "nope", "fingerprint": fingerprint("nope")}), 404, "unknown_product"
    )
    assert_error(client.post("/v1/check", json={"product": "acme"}), 422, "validation_error")
    assert_error(
        client.post("/v1/check", content=b"x" * 300_000, headers={"content-type": "application/json"}),
        413,
        "payload_too_large",
    )
    assert_error(client.post("/v1/check", json=[1, 2, 3]), 422, "validation_error")
    assert_error(client.get("/v1/nowhere"), 404, "not_found")
    assert_error(client.get("/v1/check"), 405, "method_not_allowed")
    assert counts(engine) == before


def test_chunked_oversized_body_is_refused(client, product):
    def chunks():
        for _ in range(100):
            yield b"x" * 4096

    assert_error(
        client.post("/v1/events", content=chunks(), headers={"content-type": "application/json"}),
        413,
        "payload_too_large",
    )


def test_device_calls_need_the_right_credential(client, product):
    app = Installation(client, product.public_key)
    app.check()
    assert_error(client.post("/v1/events", json={"events": []}), 401, "invalid_credential")
    wrong = {"Authorization": f"Device {app.credential['device']}:wrong-secret"}
    assert_error(client.post("/v1/events", json={"events": []}, headers=wrong), 401, "invalid_credential")
    assert_error(client.get("/v1/values/x", headers=wrong), 401, "invalid_credential")
    assert_error(client.get("/v1/values/x", headers={"Authorization": "Device garbage"}), 401, "invalid_credential")
    # A credential for another installation cannot act as this one.
    other = Installation(client, product.public_key, machine="x", disk="y", mac="z")
    other.check()
    stolen = {"Authorization": f"Device {app.credential['device']}:{other.credential['secret']}"}
    assert_error(client.post("/v1/check", json=app.body(), headers=stolen), 401, "invalid_credential")


def test_status_lane_and_fastapi_routes_answer_alike(client, product):
    """The status endpoints run in their own ASGI lane; errors and docs must not change."""
    lane = client.post("/v1/check", content=b"{", headers={"content-type": "application/json"})
    routed = client.post("/v1/events", content=b"{", headers={"content-type": "application/json"})
    assert lane.status_code == routed.status_code == 400
    assert lane.json()["error"]["code"] == routed.json()["error"]["code"] == "malformed_json"
    activate = {"product": "acme", "key": "x", "fingerprint": fingerprint("acme")}
    assert_error(client.post("/v1/activate", json=activate), 401, "invalid_credential")
    declared = client.post(
        "/v1/check", content=b"{}", headers={"content-type": "application/json", "content-length": "999999"}
    )
    assert declared.status_code == 413
    schema = client.get("/openapi.json").json()
    body = schema["paths"]["/v1/check"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body["$ref"] == "#/components/schemas/CheckRequest"
    assert "fingerprint" in schema["components"]["schemas"]["CheckRequest"]["properties"]
