"""Mappings of providers' ids to products and license types: developer API, admin page, CLI."""

from __future__ import annotations

import subprocess
import sys

import sqlalchemy as sa

from tests.server.admin_fixtures import csrf_of, make_admin, sign_in


def bearer(engine, clock, scopes):
    from licentia.server.auth.tokens import create_token

    with engine.begin() as conn:
        made = create_token(conn, name="shop", scopes=scopes, now=clock.now(), created_by="test")
    return {"Authorization": f"Bearer {made.token}"}


def test_developer_api_maps_lists_refuses_bad_input_and_unmaps(client, engine, clock, product):
    writer = bearer(engine, clock, ["read", "write"])
    reader = bearer(engine, clock, ["read"])
    body = {
        "provider": "stripe",
        "external_id": "price_123",
        "product": "acme",
        "on_refund": "suspend",
        "features": ["pro"],
        "max_devices": 3,
    }
    assert client.post("/v1/admin/payments/mappings", json=body, headers=reader).status_code == 403
    made = client.post("/v1/admin/payments/mappings", json=body, headers=writer)
    assert made.status_code == 201 and made.json()["on_refund"] == "suspend"
    again = client.post("/v1/admin/payments/mappings", json=body, headers=writer)
    assert again.status_code == 409 and again.json()["error"]["code"] == "mapping_exists"
    for bad, code in (
        ({"provider": "paypal"}, "validation_error"),
        ({"product": "nope"}, "unknown_product"),
        ({"policy_id": 999}, "unknown_policy"),
        ({"external_id": "has space"}, "validation_error"),
    ):
        answer = client.post("/v1/admin/payments/mappings", json={**body, "external_id": "p2", **bad}, headers=writer)
        assert answer.status_code in (404, 422) and answer.json()["error"]["code"] == code, answer.text
    listed = client.get("/v1/admin/payments/mappings", headers=reader).json()
    assert [m["external_id"] for m in listed] == ["price_123"]
    assert client.delete(f"/v1/admin/payments/mappings/{listed[0]['id']}", headers=writer).status_code == 204
    assert client.get("/v1/admin/payments/mappings", headers=reader).json() == []
    with engine.connect() as conn:
        actions = conn.execute(sa.text("SELECT action, actor FROM audit_entries WHERE action LIKE 'payments.%'")).all()
    assert [tuple(a) for a in actions] == [("payments.map", "token:shop"), ("payments.unmap", "token:shop")]


def test_admin_page_adds_mappings_sets_reply_to_and_shows_events(client, engine, clock, product):
    make_admin(engine, clock)
    sign_in(client)
    page = client.get("/admin/payments")
    assert page.status_code == 200 and "Provider products and prices" in page.text
    csrf = csrf_of(client)
    added = client.post(
        "/admin/payments/mappings",
        data={
            "csrf": csrf,
            "provider": "paddle",
            "external_id": "pri_01",
            "product": "acme",
            "on_refund": "revoke",
            "duration_days": "365",
            "features": "pro, export",
        },
    )
    assert "Mapping added." in added.text and "pri_01" in added.text and "pro, export" in added.text
    refused = client.post(
        "/admin/payments/mappings",
        data={"csrf": csrf, "provider": "paddle", "external_id": "pri_02", "product": "acme", "max_devices": "lots"},
    )
    assert "must be a whole number" in refused.text
    forged = client.post(
        "/admin/payments/mappings", data={"csrf": "x", "provider": "paddle", "external_id": "pri_03", "product": "acme"}
    )
    assert forged.status_code == 403
    saved = client.post(
        "/admin/payments/emails",
        data={"csrf": csrf, "product": "acme", "reply_to": "help@acme.example", "trial_reminder_days": "3"},
    )
    assert "Customer email settings saved." in saved.text and "help@acme.example" in saved.text
    bad = client.post("/admin/payments/emails", data={"csrf": csrf, "product": "acme", "reply_to": "not an address"})
    assert "is not an email address" in bad.text
    client.cookies.clear()
    assert client.get("/admin/payments", follow_redirects=False).status_code == 303


def test_cli_maps_and_lists(tmp_path):
    data_dir = tmp_path / "server"

    def cli(*args):
        return subprocess.run(
            [sys.executable, "-m", "licentia", *args, "--data-dir", str(data_dir)],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    assert cli("init").returncode == 0
    made = cli("payments", "map", "fastspring", "acme-yearly", "--product", "my-app", "--on-refund", "suspend")
    assert made.returncode == 0, made.stderr
    assert "fastspring\tacme-yearly\tmy-app" in cli("payments", "list").stdout
    twice = cli("payments", "map", "fastspring", "acme-yearly", "--product", "my-app")
    assert twice.returncode != 0 and "already mapped" in twice.stderr and "Traceback" not in twice.stderr
    assert cli("payments", "unmap", made.stdout.strip()).returncode == 0
    assert cli("payments", "list").stdout == ""


def test_a_paid_order_issues_the_mapped_license_type(client, engine, clock, product):
    import sqlalchemy as sa

    from licentia.server.payments.orders import Paid, ProviderEvent, apply
    from licentia.server.policies.schemas import PolicySpec
    from licentia.server.policies.service import create_policy
    from tests.server.payments.conftest import mapping

    with engine.begin() as conn:
        spec = PolicySpec(knobs={"max_devices": 50}, name="Site", copy_of="Default")
        site_id = create_policy(conn, spec, product="acme", actor="test", now=clock.now()).id
    mapping(engine, clock, "stripe", "price_site", policy_id=site_id)
    fact = Paid(references=["cs_site"], items=["price_site"], email="site@buyer.example")
    with engine.begin() as conn:
        done = apply(
            conn,
            ProviderEvent("stripe", "evt_site", "checkout.session.completed", [fact]),
            now=clock.now(),
            fernet=client.app.state.fernet,
        )
        policy_id = conn.execute(
            sa.text("SELECT policy_id FROM licenses WHERE id = :i"), {"i": done.license_id}
        ).scalar()
    assert done.outcome == "license issued" and policy_id == site_id
