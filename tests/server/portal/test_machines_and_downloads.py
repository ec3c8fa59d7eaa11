"""Freeing a machine's seat (one transfer count with the public API), downloads, and isolation between customers."""

from __future__ import annotations

import io
import json
import re
import zipfile

import sqlalchemy as sa

from tests.server.admin_fixtures import form_token
from tests.server.portal.conftest import ANN, BOB, sign_in


def machine_ids(page: str) -> list[str]:
    return re.findall(r'id="machine-([^"]+)"', page)


def release(engine, clock, product, version: str, download_url: str) -> None:
    from licentia.server.releases.service import publish

    with engine.begin() as conn:
        publish(
            conn, product_id=product.id, version=version, channel="stable", now=clock.now(), download_url=download_url
        )


def free(client, license_id: int, machine_id: str, reason: str = "new computer", csrf: str | None = None):
    page = client.get(f"/portal/licenses/{license_id}")
    return client.post(
        f"/portal/licenses/{license_id}/machines/{machine_id}/free",
        data={"reason": reason, "csrf": csrf if csrf is not None else form_token(page.text)},
    )


def test_freeing_a_machine_frees_its_seat_audits_the_reason_and_the_app_learns_it(client, shop, smtp, engine):
    sign_in(client, smtp, ANN)
    lid = shop.ann_license.id
    page = client.get(f"/portal/licenses/{lid}")
    assert "2 of 5 used" in page.text
    first = machine_ids(page.text)
    done = free(client, lid, first[0], reason="Replaced my laptop")
    assert "seat is free" in done.text and "1 of 5 used" in done.text
    assert done.url.path == f"/portal/licenses/{lid}" and not done.url.query  # the message came sealed, not in the URL
    assert "seat is free" not in client.get(f"/portal/licenses/{lid}").text  # and shows once
    for name in ("done", "error"):  # a message written into a link is never shown
        assert "Call us" not in client.get("/portal", params={name: "Your license was revoked. Call us."}).text
    with engine.connect() as conn:
        entry = conn.execute(
            sa.text("SELECT actor, details FROM audit_entries WHERE action = 'portal.free_machine'")
        ).one()
    assert entry.actor == f"customer:{ANN}" and "Replaced my laptop" in str(entry.details)
    freed = next(app for app in shop.ann_apps if app.check()["status"] != "registered")
    assert freed.check()["status"] == "trial"


def test_the_portal_and_the_public_api_share_one_transfer_count(client, shop, smtp, product, engine, clock):
    from licentia.server.licenses.changes import set_max_devices
    from tests.server.helpers import Installation

    lid = shop.ann_license.id
    with engine.begin() as conn:  # both seats in use: a seat freed and taken elsewhere is a move
        set_max_devices(conn, license_id=lid, max_devices=2, actor="test", now=clock.now())
    sign_in(client, smtp, ANN)
    key = shop.ann_license.key

    computers = list(shop.ann_apps)

    def new_computer(name: str) -> Installation:
        app = Installation(client, product.public_key, machine=name, disk=f"{name}-d", mac=f"{name}-n")
        app.check()
        computers.append(app)
        return app

    # Three moves in 30 days: two freed in the portal, one by the application's own deactivation.
    assert "seat is free" in free(client, lid, machine_ids(client.get(f"/portal/licenses/{lid}").text)[0]).text
    first = new_computer("new0")
    assert first.check("/v1/activate", key=key)["status"] == "registered"
    assert first.check("/v1/deactivate")["status"] == "trial"
    assert new_computer("new1").check("/v1/activate", key=key)["status"] == "registered"
    assert "2 of 2 used" in client.get(f"/portal/licenses/{lid}").text
    assert "seat is free" in free(client, lid, machine_ids(client.get(f"/portal/licenses/{lid}").text)[0]).text
    assert new_computer("new2").check("/v1/activate", key=key)["status"] == "registered"
    page = client.get(f"/portal/licenses/{lid}")
    assert "3 times every 30 days: 0 left now, the next from" in page.text
    # Freeing still works (it grants nothing); taking the seat on another computer is refused...
    freed_id = machine_ids(page.text)[0]
    assert "seat is free" in free(client, lid, freed_id).text
    refused = new_computer("new3").call("/v1/activate", key=key)
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "transfer_limit"
    assert refused.json()["error"]["next_transfer_at"] and int(refused.headers["Retry-After"]) > 0
    # ...and the computer that was freed takes its seat back.
    back = next(app for app in computers if app.check()["machine"] == freed_id)
    assert back.check("/v1/activate", key=key)["status"] == "registered"
    assert "2 of 2 used" in client.get(f"/portal/licenses/{lid}").text


def test_a_free_needs_a_reason_and_the_csrf_token(client, shop, smtp):
    sign_in(client, smtp, ANN)
    lid = shop.ann_license.id
    mid = machine_ids(client.get(f"/portal/licenses/{lid}").text)[0]
    assert free(client, lid, mid, csrf="forged").status_code == 403
    assert "why the machine is freed" in free(client, lid, mid, reason="   ").text
    # A reason longer than the developer API's takes is refused, not cut to fit.
    assert "reason: String should have at most 200 characters" in free(client, lid, mid, reason="w" * 201).text
    assert "2 of 5 used" in client.get(f"/portal/licenses/{lid}").text


def test_another_customers_license_and_machines_are_refused(client, shop, smtp, engine):
    sign_in(client, smtp, ANN)
    bob_lid = shop.bob_license.id
    browser = {"Accept": "text/html"}
    seen = client.get(f"/portal/licenses/{bob_lid}", headers=browser)
    assert seen.status_code == 404 and shop.bob_license.key_prefix not in seen.text
    missing = client.get("/portal/licenses/999999", headers=browser)
    assert missing.status_code == 404
    reason = re.compile(r'<p id="reason">(.*?)</p>')
    assert reason.findall(seen.text) == reason.findall(missing.text) == ["no such license in your account"]
    with engine.connect() as conn:
        bob_machine = conn.execute(
            sa.text("SELECT machine_id FROM devices WHERE license_id = :l"), {"l": bob_lid}
        ).scalar_one()
    token = form_token(client.get(f"/portal/licenses/{shop.ann_license.id}").text)
    # Bob's machine through Bob's license, and through Ann's own license: both refused.
    for lid in (bob_lid, shop.ann_license.id):
        answer = client.post(
            f"/portal/licenses/{lid}/machines/{bob_machine}/free", data={"reason": "mine now", "csrf": token}
        )
        assert answer.status_code == 404
    assert shop.bob_app.check()["status"] == "registered"


def test_downloads_are_signed_short_lived_and_gated(client, shop, smtp, engine, clock, settings, product):
    stored = settings.data_dir / "releases" / "acme-2.0.zip"
    stored.parent.mkdir(parents=True, exist_ok=True)
    stored.write_bytes(b"PK-release-2.0")
    release(engine, clock, product, "1.0", "https://cdn.vendor.example/acme-1.0.zip")
    release(engine, clock, product, "2.0", "stored:acme-2.0.zip")
    release(engine, clock, product, "0.9", "stored:../secret.key")  # outside the releases folder
    sign_in(client, smtp, ANN)
    page = client.get(f"/portal/licenses/{shop.ann_license.id}").text
    links = dict(
        re.findall(
            r"<td><span class=\"clip\" title=\"[0-9.]+\">([0-9.]+)</span></td>.*?href=\"(/portal/download/[^\"]+)\"",
            page,
            re.S,
        )
    )
    assert set(links) == {"2.0", "1.0", "0.9"}
    got = client.get(links["2.0"])
    assert got.status_code == 200 and "acme-2.0.zip" in got.headers["content-disposition"]
    with zipfile.ZipFile(io.BytesIO(got.content)) as bundle:  # the installer, and its own ticket beside it
        assert bundle.read("acme-2.0.zip") == b"PK-release-2.0"
        ticket = json.loads(bundle.read("licentia-ticket.json"))["document"]
    assert ticket["license"] == shop.ann_license.id and ticket["release"] == "2.0" and ticket["source"] == "portal"
    assert ANN not in json.dumps(ticket)  # the customer by id only
    second = client.get(links["2.0"])
    with zipfile.ZipFile(io.BytesIO(second.content)) as bundle:
        assert json.loads(bundle.read("licentia-ticket.json"))["document"]["ticket"] != ticket["ticket"]
    away = client.get(links["1.0"], follow_redirects=False)
    assert away.status_code == 303 and away.headers["location"] == "https://cdn.vendor.example/acme-1.0.zip"
    # A release kept elsewhere: its ticket is the second download beside it.
    assert f'href="{links["1.0"]}/ticket"' in page and f'href="{links["2.0"]}/ticket"' not in page
    beside = client.get(links["1.0"] + "/ticket")
    assert beside.status_code == 200 and 'filename="licentia-ticket.json"' in beside.headers["content-disposition"]
    assert json.loads(beside.content)["document"]["release"] == "1.0"
    with engine.connect() as conn:
        minted = conn.execute(sa.text("SELECT source, license_id FROM installer_tickets")).all()
        audited = conn.execute(sa.text("SELECT count(*) FROM audit_entries WHERE action = 'ticket.mint'")).scalar()
    assert [tuple(row) for row in minted] == [("portal", shop.ann_license.id)] * 3 and audited == 3
    assert client.get(links["0.9"]).status_code == 404  # outside the releases folder: never served
    # Altered, expired, or after the license was revoked: refused.
    assert client.get(links["2.0"][:-4] + "AAAA").status_code == 403
    assert client.get(links["1.0"][:-4] + "AAAA/ticket").status_code == 403
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE licenses SET state = 'revoked' WHERE id = :l"), {"l": shop.ann_license.id})
    assert client.get(links["2.0"]).status_code == 403
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE licenses SET state = 'active' WHERE id = :l"), {"l": shop.ann_license.id})
    clock.advance(minutes=11)
    assert client.get(links["2.0"]).status_code == 403


def test_a_download_link_of_one_customer_is_not_anothers(client, shop, smtp, engine, clock, product):
    release(engine, clock, product, "1.0", "https://cdn.vendor.example/acme-1.0.zip")
    sign_in(client, smtp, BOB)
    assert "Download" in client.get(f"/portal/licenses/{shop.bob_license.id}").text
    # A forged grant naming Ann's license cannot be made without the server's key.
    assert client.get("/portal/download/not-a-token").status_code == 403


def test_placeholders_say_what_is_missing(client, shop, smtp):
    sign_in(client, smtp, ANN)
    assert "activation request" in client.get("/portal/offline").text
    # Purchase certificates are there now (tests/server/certificates): no placeholder left on the license page.
    assert "not available yet" not in client.get(f"/portal/licenses/{shop.ann_license.id}").text
