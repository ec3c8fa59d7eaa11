"""A device cannot break its own evidence: values no report can sign are refused at ingestion,
and rows stored before that still give a signed report."""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa

from licentia.core.signing import load_public_key, verify_document
from licentia.server.auth.tokens import create_token
from licentia.server.store.models import Device, Event, Value, table_of
from tests.server.helpers import Installation, auth

BIG = 10**40


def _reader(engine: Any, clock: Any) -> dict[str, str]:
    with engine.begin() as conn:
        made = create_token(conn, name="auditor", scopes=["read"], now=clock.now(), created_by="test")
    return {"Authorization": f"Bearer {made.token}"}


def _signed_report(client: Any, device_id: str, headers: dict[str, str], public_key: str) -> dict[str, Any]:
    answer = client.get(f"/v1/admin/devices/{device_id}/evidence?format=json", headers=headers)
    assert answer.status_code == 200, answer.text
    kid, key = load_public_key(public_key)
    return verify_document(answer.content, {kid: key}, product="acme")


def _refused(answer: Any) -> None:
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["code"] == "validation_error"


def test_numbers_beyond_64_bits_are_refused_and_the_report_stays_signed(
    client: Any, engine: Any, clock: Any, collecting: Any
) -> None:
    app = Installation(client, collecting.public_key)
    app.check()
    assert app.credential is not None
    headers = auth(app.credential)
    event = {"id": "e1", "kind": "usage", "data": {"n": BIG}}
    _refused(client.post("/v1/events", json={"events": [event]}, headers=headers))
    _refused(client.post("/v1/events", json={"events": [{**event, "data": {}, "facts": {"n": -BIG}}]}, headers=headers))
    _refused(client.post("/v1/feedback", json={"text": "hi", "facts": {"n": BIG}}, headers=headers))
    for value in ({"n": BIG}, [[[BIG]]], 2**63):
        _refused(client.put("/v1/values/big", json={"value": value}, headers=headers))
    # Not JSON the other readers can carry either: NaN (jsonb refuses it) and nesting beyond reason.
    for raw in (b'{"value": NaN}', b'{"value": Infinity}', b'{"value": ' + b"[" * 40 + b"]" * 40 + b"}"):
        answer = client.put("/v1/values/odd", content=raw, headers={**headers, "Content-Type": "application/json"})
        _refused(answer)
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(table_of(Value))).scalar_one() == 0
        kinds = [r.kind for r in conn.execute(sa.select(table_of(Event)))]
    assert "usage" not in kinds and "feedback" not in kinds

    # The largest integers a signature carries still go through, and the report verifies.
    edge = {"id": "e2", "kind": "usage", "data": {"max": 2**63 - 1, "min": -(2**63 - 1)}}
    assert client.post("/v1/events", json={"events": [edge]}, headers=headers).json()["accepted"] == 1
    assert client.put("/v1/values/fine", json={"value": {"a": [1, 2.5, "x"]}}, headers=headers).status_code == 200
    report = _signed_report(client, app.device_id, _reader(engine, clock), collecting.public_key)
    assert {"max": 2**63 - 1, "min": -(2**63 - 1)} in [e["data"] for e in report["events"]]


def test_rows_stored_before_the_limit_still_give_a_signed_report(
    client: Any, engine: Any, clock: Any, collecting: Any
) -> None:
    app = Installation(client, collecting.public_key)
    app.check()
    device_id = app.device_id
    events, devices = table_of(Event), table_of(Device)
    # As an older server (or the status check's facts) could have stored them.
    with engine.begin() as conn:
        conn.execute(
            events.insert().values(
                product_id=collecting.id,
                device_id=device_id,
                kind="usage",
                client_event_id="old-1",
                received_at=clock.now(),
                data={"n": BIG, "f": 1.5},
                client_facts={"computer_name": -BIG},
                server_facts={},
            )
        )
        conn.execute(devices.update().where(devices.c.id == device_id).values(facts={"n": BIG}))
    headers = _reader(engine, clock)
    report = _signed_report(client, device_id, headers, collecting.public_key)
    stored = next(e for e in report["events"] if e["data"].get("n") is not None)
    assert stored["data"] == {"n": str(BIG), "f": "1.5"} and stored["client_facts"] == {"computer_name": str(-BIG)}
    assert report["devices"][0]["facts"] == {"n": str(BIG)}
    for fmt in ("csv", "html"):
        answer = client.get(f"/v1/admin/devices/{device_id}/evidence?format={fmt}", headers=headers)
        assert answer.status_code == 200 and str(BIG) in answer.text
    assert json.loads(client.get(f"/v1/admin/devices/{device_id}/risk", headers=headers).text)["subject"]
