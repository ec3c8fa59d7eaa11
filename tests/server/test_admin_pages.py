"""The admin pages change the truth through audited services; the key email goes through the outbox."""

from __future__ import annotations

import re
from typing import Any

import sqlalchemy as sa

from licentia.server.store.models import AuditEntry, Device, License, OutboxMessage, table_of
from tests.server.admin_fixtures import csrf_of, make_admin, sign_in
from tests.server.helpers import Installation


def _signed_in(client: Any, engine: Any, clock: Any) -> str:
    make_admin(engine, clock)
    sign_in(client)
    return csrf_of(client)


def _audit(engine: Any) -> list[tuple[str, str]]:
    entries = table_of(AuditEntry)
    with engine.connect() as conn:
        return [(r.actor, r.action) for r in conn.execute(sa.select(entries).order_by(entries.c.id))]


def test_issue_revoke_and_device_actions(client: Any, engine: Any, clock: Any, product: Any) -> None:
    csrf = _signed_in(client, engine, clock)
    issued = client.post(
        "/admin/licenses",
        data={"csrf": csrf, "product": "acme", "email": "bob@example.com", "name": "Bob", "send_email": "on"},
    )
    assert issued.status_code == 200
    shown = re.search(r'id="license-key"><code>([^<]+)</code>', issued.text)
    assert shown is not None
    key = shown.group(1)
    with engine.connect() as conn:
        mail = conn.execute(sa.select(table_of(OutboxMessage))).one()
        lic = conn.execute(sa.select(table_of(License))).one()
    assert mail.payload["to"] == ["bob@example.com"] and key not in str(mail.payload) and mail.payload["sealed"]

    app = Installation(client, product.public_key)
    app.check()
    assert app.check("/v1/activate", key=key)["status"] == "registered"
    device_id = app.device_id
    page = client.get(f"/admin/licenses/{lic.id}")
    assert device_id in page.text

    assert client.post(f"/admin/licenses/{lic.id}/revoke", data={"csrf": csrf, "reason": "refund"}).status_code == 200
    with engine.connect() as conn:
        device = conn.execute(sa.select(table_of(Device))).one()
    assert device.license_id is None and device.status == "trial"

    extended = client.post(f"/admin/devices/{device_id}/extend-trial", data={"csrf": csrf, "days": "10"})
    assert "Trial extended by 10 days." in extended.text
    client.post(f"/admin/devices/{device_id}/block", data={"csrf": csrf, "reason": "chargeback"})
    assert app.check()["status"] == "blocked"
    detail = client.get(f"/admin/devices/{device_id}")
    assert "register" in detail.text and "blocked" in detail.text

    actions = [a for actor, a in _audit(engine) if actor == "admin:ann@vendor.example"]
    for expected in ("license.issue", "license.revoke", "device.extend_trial", "device.set_status"):
        assert expected in actions
    assert "license.revoke" in client.get("/admin/audit").text


def test_errors_show_on_the_page(client: Any, engine: Any, clock: Any, product: Any) -> None:
    csrf = _signed_in(client, engine, clock)
    answer = client.post("/admin/licenses", data={"csrf": csrf, "product": "acme", "email": "not-an-email"})
    assert answer.status_code == 400 and "is not an email address" in answer.text


def test_policy_privacy_notifications_and_releases(client: Any, engine: Any, clock: Any, product: Any) -> None:
    csrf = _signed_in(client, engine, clock)
    policy = {
        "csrf": csrf,
        "trial_days": "21",
        "max_devices": "3",
        "seat_release_days": "90",
        "lease_days": "5",
        "grace_days": "3",
        "usage_report_days": "",
        "fingerprint_min_match": "2",
        "on_clone": "block",
    }
    assert "Policy saved." in client.post(f"/admin/products/{product.id}/policy", data=policy).text
    notify = {"csrf": csrf, "emails": "ops@vendor.example", "on_install": "on", "on_piracy": "on"}
    assert "Notifications saved." in client.post(f"/admin/products/{product.id}/notify", data=notify).text
    privacy = {"csrf": csrf, "collect_facts": "on", "facts_retention_days": "30"}
    assert "Privacy settings saved." in client.post(f"/admin/products/{product.id}/privacy", data=privacy).text
    page = client.get(f"/admin/products/{product.id}")
    assert 'value="21"' in page.text and "ops@vendor.example" in page.text
    for language in ("python", "typescript", "c", "go", "java"):  # the five lines in every client's language
        assert f'id="snippet-{language}"' in page.text
    with engine.connect() as conn:
        row = conn.execute(sa.text("select notify, collect_facts from products")).one()
        trial, vms = conn.execute(sa.text("select trial_days, allow_virtual_machines from policies")).one()
    notify_value = row.notify if isinstance(row.notify, dict) else __import__("json").loads(row.notify)
    assert notify_value == {
        "emails": ["ops@vendor.example"],
        "on": {"install": True, "uninstall": False, "feedback": False, "register": False, "piracy": True},
    }
    assert trial == 21 and not vms and row.collect_facts

    published = client.post(
        "/admin/releases",
        data={"csrf": csrf, "product": "acme", "version": "2.1.0", "channel": "stable", "notes": "Faster"},
    )
    assert "Version 2.1.0 published." in published.text
    bad = client.post(
        "/admin/releases",
        data={"csrf": csrf, "product": "acme", "version": "2.2", "download_url": "javascript:alert(1)"},
    )
    assert "must start with https://" in bad.text
    actions = {a for _, a in _audit(engine)}
    assert {"policy.update", "product.notify", "product.privacy", "release.publish"} <= actions


def test_device_search(client: Any, engine: Any, clock: Any, product: Any) -> None:
    _signed_in(client, engine, clock)
    app = Installation(client, product.public_key)
    app.check()
    device_id = app.device_id
    assert device_id in client.get("/admin/devices", params={"q": device_id[:8]}).text
    # The TestClient's address is recorded in the events' server facts.
    assert device_id in client.get("/admin/devices", params={"q": "testclient"}).text
    assert device_id not in client.get("/admin/devices", params={"q": "nomatch"}).text
    partial = client.get("/admin/devices", params={"q": device_id}, headers={"HX-Request": "true"})
    assert device_id in partial.text and "<html" not in partial.text
