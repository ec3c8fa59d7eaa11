"""Evidence reports and risk opened with the admin session (TestClient, both databases)."""

from __future__ import annotations

from typing import Any

from licentia.core.signing import load_public_key, verify_document
from tests.server.admin_fixtures import csrf_of, make_admin, sign_in
from tests.server.helpers import Installation


def test_reports_open_with_the_session_in_each_form_and_never_without_it(client: Any, engine, clock, product):
    make_admin(engine, clock)
    device = Installation(client, product.public_key)
    device.check()
    base = f"/admin/devices/{device.device_id}/evidence"
    assert client.get(base, follow_redirects=False).status_code == 303  # not signed in: the sign-in page

    sign_in(client)
    page = client.get(base)
    assert page.status_code == 200 and "Evidence report" in page.text and 'class="top"' in page.text
    assert page.headers["x-frame-options"] == "DENY"
    signed = client.get(base + "?format=json")
    kid, key = load_public_key(product.public_key)
    report = verify_document(signed.content, {kid: key}, product="acme")
    assert report["devices"][0]["id"] == device.device_id
    rows = client.get(base + "?format=csv")
    assert rows.headers["content-type"].startswith("text/tab-separated-values")
    assert rows.text.splitlines()[0].split("\t")[:4] == ["event_id", "received_at", "occurred_at", "kind"]
    assert client.get(base + "?format=xml").status_code == 422

    missing = client.get("/admin/devices/dv_nobody/evidence")
    assert missing.status_code == 404 and "no device" in missing.text
    assert client.get("/admin/licenses/999999/evidence?format=json").status_code == 404


def test_license_page_shows_the_risk_of_a_key_tried_beyond_its_seats(client: Any, engine, clock, product):
    make_admin(engine, clock)
    sign_in(client)
    csrf = csrf_of(client)
    issued = client.post(
        "/admin/licenses", data={"csrf": csrf, "product": "acme", "email": "bob@example.com", "max_devices": "1"}
    )
    key = issued.text.split('id="license-key"><code>')[1].split("<")[0]
    license_id = issued.text.split('href="/admin/licenses/')[1].split('"')[0]
    for n in range(3):
        machine = Installation(client, product.public_key, machine=f"m{n}", disk=f"d{n}", cpu=f"c{n}", mac=f"n{n}")
        machine.check()
        machine.call("/v1/activate", key=key)
    page = client.get(f"/admin/licenses/{license_id}")
    risk = page.text.split('id="risk"')[1].split("</section>")[0]
    assert 'data-factor="devices_beyond_limit"' in risk
    assert "2 more devices tried to activate this key after all its seats were taken." in risk
    listed = client.get("/admin/risk")
    assert f'href="/admin/licenses/{license_id}"' in listed.text
