"""Installer tickets at first contact: a leaked installer traced back to its download; both databases.

US 6,070,171 step (a): each distributed copy carries its own initial token;
another computer starting from the same one is a copy of that copy.
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa

from licentia.core.signing import SigningKey
from licentia.server.licenses.service import issue_license
from licentia.server.products.service import update_policy
from licentia.server.store.tables import audit_entries, devices, installer_tickets, ticket_starts
from licentia.server.tickets.service import Download, list_tickets, mint_ticket
from tests.server.evidence.conftest import events_of
from tests.server.helpers import Installation


def minted(engine: Any, settings: Any, clock: Any, **kw: Any) -> tuple[str, str]:
    with engine.begin() as conn:
        ticket = mint_ticket(conn, Download("acme", **kw), fernet=settings.fernet(), actor="test", now=clock.now())
    return ticket.id, ticket.signed.decode()


def bought(engine: Any, clock: Any) -> Any:
    with engine.begin() as conn:
        return issue_license(conn, product="acme", email="buyer@example.com", now=clock.now())


def test_a_ticket_is_signed_names_its_download_and_carries_nothing_personal(client, engine, migrated, clock, product):
    lic = bought(engine, clock)
    ticket_id, text = minted(engine, migrated, clock, license_id=lic.id)
    signed = json.loads(text)
    document = signed["document"]
    assert signed["kid"] == product.kid and signed["sig"]
    assert document["kind"] == "installer_ticket" and document["product"] == "acme"
    assert document["ticket"] == ticket_id and document["license"] == lic.id and document["customer"]
    assert document["token"]["usage"] == 0 and len(document["token"]["key"]) >= 32
    assert "buyer" not in text and "@" not in text  # opaque ids only: the file travels wherever a leak takes it
    with engine.connect() as conn:
        stored = conn.execute(sa.select(installer_tickets)).one()
        audit = conn.execute(sa.select(audit_entries.c.action, audit_entries.c.details)).all()
    assert stored.token_hash != document["token"]["key"] and document["token"]["key"] not in str(stored)
    assert [(a.action, a.details["ticket"]) for a in audit if a.action == "ticket.mint"] == [("ticket.mint", ticket_id)]


def test_a_leaked_installer_started_on_a_second_computer_is_a_copy_of_that_download(
    client, engine, migrated, clock, product
):
    lic = bought(engine, clock)
    ticket_id, text = minted(engine, migrated, clock, license_id=lic.id)
    buyer = Installation(client, product.public_key, disk="buyer-disk", machine="buyer", mac="buyer-nic")
    first = buyer.check(installer_ticket=text)
    assert first["status"] == "trial" and first["clone_suspected"] is False
    assert events_of(engine, "clone_suspected") == []

    pirate = Installation(client, buyer.public_key, disk="pirate-disk", machine="pirate", mac="pirate-nic")
    copy = pirate.check(installer_ticket=text)
    assert copy["status"] == "trial" and copy["clone_suspected"] is True  # on_clone = flag: a flagged trial
    evidence = {e.device_id: e for e in events_of(engine, "clone_suspected")}
    assert set(evidence) == {first["device"], copy["device"]}
    named = evidence[copy["device"]]
    assert named.data["reason"] == "installer_ticket_copied" and named.data["copy_of"] == first["device"]
    assert named.data["installer_ticket"]["id"] == ticket_id and named.data["installer_ticket"]["license"] == lic.id
    assert named.data["installer_ticket"]["customer"] and named.license_id == lic.id  # the buyer's report finds it
    assert evidence[first["device"]].data["copy"] == copy["device"]
    with engine.connect() as conn:
        (listed,) = list_tickets(conn, product="acme")
    assert (listed["installations"], listed["copies"]) == (2, 1)


def test_under_on_clone_block_the_copy_of_a_download_is_blocked(client, engine, migrated, clock, product):
    with engine.begin() as conn:
        update_policy(conn, product_id=product.id, values={"on_clone": "block"})
    _ticket, text = minted(engine, migrated, clock)
    assert Installation(client, product.public_key, machine="a", disk="a", mac="a").check(installer_ticket=text)[
        "allowed"
    ]
    copy = Installation(client, product.public_key, machine="b", disk="b", mac="b").check(installer_ticket=text)
    assert copy["status"] == "blocked" and copy["allowed"] is False


def test_a_forged_or_edited_ticket_is_refused_and_starts_nothing(client, engine, migrated, clock, product):
    _ticket, text = minted(engine, migrated, clock)
    signed = json.loads(text)
    edited = {**signed, "document": {**signed["document"], "customer": 999}}
    forged = SigningKey.generate().sign(signed["document"])
    app = Installation(client, product.public_key)
    for bad in (
        json.dumps(edited),
        forged.decode(),
        "not a ticket",
        json.dumps({"document": {}, "kid": "x", "sig": ""}),
    ):
        refused = app.call("/v1/check", installer_ticket=bad)
        assert refused.status_code == 422 and refused.json()["error"]["code"] == "invalid_installer_ticket"
    too_long = app.call("/v1/check", installer_ticket="x" * 5000)
    assert too_long.status_code == 422
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(devices)).scalar_one() == 0
    assert app.check(installer_ticket=text)["status"] == "trial"  # the genuine one still starts


def test_a_reinstall_of_the_same_installation_reusing_its_ticket_is_not_a_copy(
    client, engine, migrated, clock, product
):
    _ticket, text = minted(engine, migrated, clock)
    app = Installation(client, product.public_key)
    first = app.check(installer_ticket=text)
    # The escrow kept the credential: the reinstall resumes it, and sends the ticket again.
    app.token = None
    resumed = app.check(installer_ticket=text, resumed=True)
    assert resumed["device"] == first["device"] and resumed["clone_suspected"] is False
    # Formatted, no escrow: recognised by fingerprint as the same installation's lineage.
    again = Installation(client, product.public_key).check(installer_ticket=text)
    assert again["device"] != first["device"] and again["clone_suspected"] is False
    assert events_of(engine, "clone_suspected") == []
    with engine.connect() as conn:
        assert conn.execute(sa.select(ticket_starts.c.copy)).scalars().all() == [False, False]


def test_without_a_ticket_first_contact_is_as_before(client, engine, product):
    doc = Installation(client, product.public_key).check()
    assert doc["status"] == "trial" and doc["clone_suspected"] is False
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(ticket_starts)).scalar_one() == 0
