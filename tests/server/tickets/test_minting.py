"""Minting installer tickets through the developer API: a write token mints, a read token lists; both databases."""

from __future__ import annotations

import json

import sqlalchemy as sa

from licentia.core.signing import load_public_key, verify_document
from licentia.server.auth.tokens import create_token
from licentia.server.releases.service import publish
from licentia.server.store.tables import audit_entries
from tests.server.helpers import Installation


def bearer(engine, clock, scope: str) -> dict[str, str]:
    with engine.begin() as conn:
        made = create_token(conn, name=f"{scope}-token", scopes=[scope], now=clock.now(), created_by="test")
    return {"Authorization": f"Bearer {made.token}"}


def test_the_developer_api_mints_a_verifiable_ticket_and_lists_its_installations(client, engine, clock, product):
    with engine.begin() as conn:
        publish(conn, product_id=product.id, version="2.1.0", channel="stable", now=clock.now())
    writer, reader = bearer(engine, clock, "write"), bearer(engine, clock, "read")
    url = "/v1/admin/products/acme/installer-tickets"
    made = client.post(url, json={"release": "2.1.0"}, headers=writer)
    assert made.status_code == 201, made.text
    signed = made.json()["file"]
    kid, key = load_public_key(product.public_key)
    document = verify_document(json.dumps(signed), {kid: key}, product="acme")
    assert document["ticket"] == made.json()["id"] and document["release"] == "2.1.0" and document["source"] == "vendor"

    Installation(client, product.public_key).check(installer_ticket=json.dumps(signed))
    (listed,) = client.get(url, headers=reader).json()
    assert listed["id"] == document["ticket"] and listed["installations"] == 1 and listed["copies"] == 0
    assert listed["issued_by"] == "token:write-token"
    with engine.connect() as conn:
        actions = conn.execute(sa.select(audit_entries.c.action, audit_entries.c.actor)).all()
    assert ("ticket.mint", "token:write-token") in [tuple(a) for a in actions]

    assert client.post(url, json={}, headers=reader).json()["error"]["code"] == "insufficient_scope"
    unknown = client.post(url, json={"release": "9.0"}, headers=writer)
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "unknown_release"
    no_customer = client.post(url, json={"customer_id": 4242}, headers=writer)
    assert no_customer.status_code == 404 and no_customer.json()["error"]["code"] == "unknown_customer"
    other = client.get("/v1/admin/products/nope/installer-tickets", headers=reader)
    assert other.status_code == 404 and other.json()["error"]["code"] == "unknown_product"


def test_the_buyers_signed_evidence_report_names_the_copy_of_their_download(client, engine, clock, product):
    from licentia.server.licenses.service import issue_license

    with engine.begin() as conn:
        lic = issue_license(conn, product="acme", email="buyer@example.com", now=clock.now())
    writer, reader = bearer(engine, clock, "write"), bearer(engine, clock, "read")
    made = client.post("/v1/admin/products/acme/installer-tickets", json={"license_id": lic.id}, headers=writer)
    text = json.dumps(made.json()["file"])
    Installation(client, product.public_key, machine="a", disk="a", mac="a").check(installer_ticket=text)
    Installation(client, product.public_key, machine="b", disk="b", mac="b").check(installer_ticket=text)

    report = client.get(f"/v1/admin/licenses/{lic.id}/evidence?format=json", headers=reader)
    kid, key = load_public_key(product.public_key)
    document = verify_document(report.content, {kid: key}, product="acme")
    [copy] = [e for e in document["events"] if e["kind"] == "clone_suspected"]
    assert copy["data"]["reason"] == "installer_ticket_copied"
    assert copy["data"]["installer_ticket"]["id"] == made.json()["id"]
    assert copy["data"]["installer_ticket"]["license"] == lic.id and copy["data"]["installer_ticket"]["customer"]
    assert "buyer@example.com" not in json.dumps(copy)
