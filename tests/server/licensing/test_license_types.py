"""License types end to end: the developer API defines them, licenses follow them, the plain web API shows it.

Every test runs against the app on the SQLite file and on PostgreSQL, talking
HTTP as a vendor's shop and a customer's application would.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from licentia.server.auth.tokens import create_token
from licentia.server.licenses.seat_release import release_in_server
from licentia.server.releases.service import publish
from tests.conftest import START
from tests.server.helpers import Installation, auth


@pytest.fixture
def api(client: Any, engine: Any, clock: Any) -> Any:
    """The developer API with a write token, as a shop integration calls it."""
    with engine.begin() as conn:
        token = create_token(conn, name="shop", scopes=["read", "write"], now=clock.now(), created_by="test").token

    class Api:
        def __init__(self) -> None:
            self.headers = {"Authorization": f"Bearer {token}"}

        def call(self, method: str, path: str, expect: int = 200, **body: Any) -> Any:
            response = client.request(method, "/v1/admin" + path, json=body or None, headers=self.headers)
            assert response.status_code == expect, response.text
            return response.json()

        def policy(self, **body: Any) -> Any:
            return self.call("POST", "/products/acme/policies", 201, **body)

        def license(self, **body: Any) -> Any:
            return self.call(
                "POST", "/licenses", 201, product="acme", email="buyer@example.com", send_email=False, **body
            )

    return Api()


def machine(client: Any, product: Any, n: int, **kw: Any) -> Installation:
    app = Installation(client, product.public_key, machine=f"m{n}", disk=f"d{n}", mac=f"n{n}", **kw)
    app.check()
    return app


def test_a_policy_change_reaches_every_license_of_it_at_the_next_check(api, client, product):
    api.policy(name="Pro", max_devices=1, lease_days=3, on_clone="block")
    lic = api.license(policy="Pro")
    assert lic["policy"] == "Pro" and lic["max_devices"] == 1
    first, second = machine(client, product, 1), machine(client, product, 2)
    doc = first.check("/v1/activate", key=lic["key"])
    assert doc["license"]["policy"] == "Pro" and doc["license"]["kind"] == "node_locked"
    assert doc["lease_until"] == "2026-01-08T09:00:00Z"  # three days, the policy's, not the default seven
    refused = second.call("/v1/activate", key=lic["key"])
    assert refused.json()["error"]["code"] == "too_many_devices"
    changed = api.call("PATCH", "/products/acme/policies/Pro", max_devices=2, lease_days=10)
    assert changed["max_devices"] == 2
    assert second.check("/v1/activate", key=lic["key"])["status"] == "registered"
    assert first.check()["lease_until"] == "2026-01-15T09:00:00Z"
    # The default policy still rules other licenses and machines without one.
    assert api.license()["max_devices"] == 5
    assert machine(client, product, 3).check()["lease_until"] == "2026-01-12T09:00:00Z"


def test_a_license_overrides_single_knobs_and_can_move_to_another_type(api, client, product):
    api.policy(name="Solo", max_devices=1)
    api.policy(name="Team", max_devices=10, copy_of="Solo")
    lic = api.license(policy="Solo", overrides={"max_devices": 2, "entitlements": {"seats_label": "two"}})
    assert lic["max_devices"] == 2 and lic["policy_overrides"]["max_devices"] == 2
    one, two, three = (machine(client, product, n) for n in (1, 2, 3))
    for app in (one, two):
        assert app.check("/v1/activate", key=lic["key"])["status"] == "registered"
    assert three.call("/v1/activate", key=lic["key"]).json()["error"]["code"] == "too_many_devices"
    moved = api.call("PATCH", f"/licenses/{lic['id']}/terms", policy="Team", unset=["max_devices"])
    assert moved["policy"] == "Team" and moved["max_devices"] == 10
    assert moved["entitlements"]["seats_label"]["value"] == "two"  # the other override stays
    doc = three.check("/v1/activate", key=lic["key"])
    assert doc["license"]["policy"] == "Team" and doc["entitlements"]["seats_label"]["value"] == "two"


def test_expiry_modes_fix_the_date_at_issue_or_at_first_activation(api, client, product, clock):
    api.policy(name="Yearly", expiry_mode="from_issue", expiry_days=365)
    api.policy(name="Event", expiry_mode="fixed_date", expiry_date="2026-06-30")
    api.policy(name="Subscription", expiry_mode="from_activation", expiry_days=30)
    api.policy(name="Forever")
    assert api.license(policy="Yearly")["expires_at"].startswith("2027-01-05T09:00")
    assert api.license(policy="Event")["expires_at"].startswith("2026-06-30")
    assert api.license(policy="Forever")["expires_at"] is None
    sub = api.license(policy="Subscription")
    assert sub["expires_at"] is None  # the clock starts at the first activation
    clock.advance(days=10)
    app = machine(client, product, 1)
    doc = app.check("/v1/activate", key=sub["key"])
    assert doc["license"]["expires_at"] == "2026-02-14T09:00:00Z"
    # Editing the policy changes the terms of later sales, never a sale already made.
    api.call("PATCH", "/products/acme/policies/Subscription", expiry_days=5)
    clock.advance(days=20)
    assert app.check()["status"] == "registered"
    clock.advance(days=11)
    expired = app.check()
    assert expired["status"] == "suspended" and expired["reason"] == "license_expired"


def test_entitlements_carry_typed_values_and_expire(api, client, product, clock):
    soon = (START + dt.timedelta(days=10)).isoformat()
    api.policy(
        name="Pro",
        entitlements={
            "export_pdf": True,
            "max_projects": 10,
            "edition": "pro",
            "cloud_sync": False,
            "beta_tools": {"value": True, "expires_at": soon},
        },
    )
    lic = api.license(policy="Pro", features=["legacy_flag"], overrides={"entitlements": {"max_projects": 50}})
    app = machine(client, product, 1)
    doc = app.check("/v1/activate", key=lic["key"])
    assert doc["entitlements"] == {
        "beta_tools": {"value": True, "expires_at": "2026-01-15T09:00:00Z"},
        "cloud_sync": {"value": False, "expires_at": None},
        "edition": {"value": "pro", "expires_at": None},
        "export_pdf": {"value": True, "expires_at": None},
        "max_projects": {"value": 50, "expires_at": None},
    }
    # Existing SDKs read ``features``: the true booleans and the license's own names.
    assert doc["features"] == ["beta_tools", "export_pdf", "legacy_flag"]
    clock.advance(days=11)
    later = app.check()
    assert "beta_tools" not in later["entitlements"] and later["features"] == ["export_pdf", "legacy_flag"]
    # Machines without a license get the product's default policy's entitlements.
    api.call("PATCH", "/products/acme/policies/Default", entitlements={"edition": "trial"})
    assert machine(client, product, 2).check()["entitlements"] == {"edition": {"value": "trial", "expires_at": None}}


def test_bad_knobs_get_clear_errors_and_change_nothing(api, client):
    def refused(expect: int, code: str, method: str, path: str, **body: Any) -> str:
        answer = api.call(method, path, expect, **body)
        assert answer["error"]["code"] == code, answer
        return str(answer["error"]["message"])

    assert "max_devices" in refused(422, "invalid_policy", "POST", "/products/acme/policies", name="X", max_devices=0)
    assert "expiry_days" in refused(
        422, "invalid_policy", "POST", "/products/acme/policies", name="X", expiry_mode="from_issue"
    )
    assert "entitlement" in refused(
        422, "invalid_policy", "POST", "/products/acme/policies", name="X", entitlements={"a": [1]}
    )
    assert "unknown policy setting" in refused(
        422, "invalid_policy", "POST", "/products/acme/policies", name="X", colour=1
    )
    assert "period" in refused(
        422,
        "invalid_policy",
        "POST",
        "/products/acme/policies",
        name="X",
        meters={"renders": {"limit": 5, "period": "eon"}},
    )
    refused(422, "invalid_policy", "POST", "/products/acme/policies", name="nul\x00name")
    refused(422, "invalid_policy", "POST", "/products/acme/policies", name="X", entitlements={"e": "a\x00b"})
    refused(422, "invalid_policy", "POST", "/products/acme/policies", name="X", max_devices=10**30)
    refused(409, "policy_exists", "POST", "/products/acme/policies", name="Default")
    refused(404, "unknown_policy", "PATCH", "/products/acme/policies/Nope", max_devices=3)
    refused(404, "unknown_product", "GET", "/products/nope/policies")
    refused(404, "unknown_policy", "POST", "/licenses", product="acme", email="a@example.com", policy="Nope")
    refused(422, "invalid_policy", "POST", "/licenses", product="acme", email="a@example.com", overrides={"kind": "x"})
    listed = api.call("GET", "/products/acme/policies")
    assert [p["name"] for p in listed] == ["Default"] and listed[0]["licenses"] == 0
    meters = api.policy(name="Render farm", meters={"renders": {"limit": 1000, "period": "month"}})
    assert meters["meters"] == {"renders": {"limit": 1000, "period": "month"}}


def test_updates_follow_maintenance(api, client, product, engine, clock):
    def release(version: str) -> None:
        with engine.begin() as conn:
            publish(conn, product_id=product.id, version=version, channel="stable", now=clock.now())

    api.policy(name="Yearly updates", maintenance_days=30)
    release("1.0.0")
    lic = api.license(policy="Yearly updates")
    assert lic["maintenance_until"].startswith("2026-02-04T09:00")
    app = machine(client, product, 1)
    app.check("/v1/activate", key=lic["key"])
    clock.advance(days=10)
    release("2.0.0")
    clock.advance(days=30)
    release("3.0.0")
    client.app.state.checker.releases.clear()
    doc = app.check()
    assert doc["latest_release"]["version"] == "2.0.0"
    assert doc["maintenance"] == {
        "until": "2026-02-04T09:00:00Z",
        "newer_release": {"version": "3.0.0", "channel": "stable"},
    }
    asked = client.get(
        "/v1/releases/latest", params={"product": "acme", "current": "1.0.0"}, headers=auth(app.credential)
    )
    assert asked.json()["version"] == "2.0.0" and asked.json()["newer"] is True
    assert asked.json()["maintenance"]["newer_release"]["version"] == "3.0.0"
    assert client.get("/v1/releases/latest", params={"product": "acme"}).json()["version"] == "3.0.0"
    wrong = client.get(
        "/v1/releases/latest", params={"product": "acme"}, headers=auth({**app.credential, "secret": "x"})
    )
    assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "invalid_credential"
    # A trial installation is offered everything; a renewed maintenance reaches the license at once.
    assert machine(client, product, 2).check()["latest_release"]["version"] == "3.0.0"
    api.call("PATCH", f"/licenses/{lic['id']}/terms", maintenance_forever=True)
    renewed = app.check()
    assert renewed["latest_release"]["version"] == "3.0.0" and renewed["maintenance"]["newer_release"] is None


def test_seats_of_machines_unseen_for_the_policy_period_free_on_schedule(api, client, product, clock):
    api.policy(name="Roaming", seat_release_days=30)
    lic = api.license(policy="Roaming", overrides={"max_devices": 2})
    old = machine(client, product, 1)
    beta = Installation(client, product.public_key, machine="m1", disk="d1", mac="n1", path="/opt/beta")
    beta.check()
    stays = machine(client, product, 2)
    for app in (old, beta, stays):
        app.check("/v1/activate", key=lic["key"])
    clock.advance(days=20)
    beta.check()  # the machine was seen through its other installation
    stays.check()
    seats = api.call("GET", f"/licenses/{lic['id']}/devices")
    frees = {seat["id"]: seat["frees_at"] for seat in seats}
    assert frees[old.credential["device"]] == frees[beta.credential["device"]]
    assert frees[old.credential["device"]].startswith("2026-02-24T09:00")
    clock.advance(days=25)
    assert client.portal.call(release_in_server, client.app) == 0  # seen 25 days ago: not yet
    stays.check()
    clock.advance(days=6)
    assert client.portal.call(release_in_server, client.app) == 1
    assert client.portal.call(release_in_server, client.app) == 0  # a second worker finds nothing left
    doc = old.check()
    assert doc["status"] == "trial_expired" and doc["reason"] == "seat_released" and doc["license"] is None
    assert stays.check()["status"] == "registered"
    remaining = api.call("GET", f"/licenses/{lic['id']}/devices")
    assert [seat["id"] for seat in remaining] == [stays.credential["device"]]
    # A policy that never frees seats says so.
    api.call("PATCH", "/products/acme/policies/Roaming", seat_release_days=0)
    assert api.call("GET", f"/licenses/{lic['id']}/devices")[0]["frees_at"] is None
    clock.advance(days=400)
    assert client.portal.call(release_in_server, client.app) == 0


def test_two_workers_releasing_seats_at_once_free_each_seat_once(api, client, product, engine, clock, migrated):
    import threading

    import sqlalchemy as sa

    from licentia.server.licenses.seat_release import release_all
    from licentia.server.store.engine import database_urls, make_sync_engine
    from licentia.server.store.models import Event, table_of

    api.policy(name="Roaming", seat_release_days=30)
    lic = api.license(policy="Roaming", overrides={"max_devices": 10})
    apps = [machine(client, product, n) for n in range(1, 5)]
    for app in apps:
        app.check("/v1/activate", key=lic["key"])
    clock.advance(days=31)
    engines = [make_sync_engine(database_urls(migrated.resolved_database_url), pool_size=1) for _ in range(2)]
    start, freed = threading.Barrier(2), []

    def worker(eng: Any) -> None:
        start.wait()
        freed.append(release_all(eng, clock.now()))

    try:
        threads = [threading.Thread(target=worker, args=(eng,)) for eng in engines]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    finally:
        for eng in engines:
            eng.dispose()
    assert sorted(freed) == [0, 4]
    events = table_of(Event)
    with engine.connect() as conn:
        released = conn.execute(
            sa.select(sa.func.count()).where(events.c.kind == "deactivate", events.c.license_id == lic["id"])
        ).scalar_one()
    assert released == 4
    assert all(app.check()["reason"] == "seat_released" for app in apps)


def test_a_license_types_copy_and_virtual_machine_rules_apply_to_its_licenses(api, client, product):
    api.policy(name="Strict", on_clone="block", allow_virtual_machines=False)
    strict, lenient = api.license(policy="Strict"), api.license()
    vm = Installation(client, product.public_key, machine="vm1", disk="vd1", mac="vn1")
    vm.fp["virtual"] = True
    assert vm.check()["status"] == "trial"  # the default type allows virtual machines
    refused = vm.call("/v1/activate", key=strict["key"])
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "virtual_machine_not_allowed"
    assert vm.check("/v1/activate", key=lenient["key"])["status"] == "registered"
    # A copied state of a Strict installation is blocked; the default type only flags it.
    owner = machine(client, product, 1)
    owner.check("/v1/activate", key=strict["key"])
    stale_token = owner.token
    owner.check()
    owner.check()  # two checks on: the copied token is older than the previous one
    copy = Installation(client, product.public_key, machine="m1", disk="d1", mac="n1")
    copy.credential, copy.token = dict(owner.credential), stale_token
    caught = copy.check()
    assert caught["clone_suspected"] is True and caught["status"] == "blocked"
    assert owner.check()["status"] == "blocked"
    # Under the default type the same copy is only flagged.
    other = machine(client, product, 2)
    other.check("/v1/activate", key=lenient["key"])
    stale_token = other.token
    other.check()
    other.check()
    flagged = Installation(client, product.public_key, machine="m2", disk="d2", mac="n2")
    flagged.credential, flagged.token = dict(other.credential), stale_token
    assert flagged.check()["clone_suspected"] is True
    assert other.check()["status"] == "registered"
