"""Confirmed actions keep their reason in the audit log, and show it in the object's one history (TestClient)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa

from licentia.server.admin.history import Line, fold
from licentia.server.store.models import ApiToken, AuditEntry, Device, License, table_of
from tests.server.admin_fixtures import csrf_of, make_admin, sign_in
from tests.server.helpers import Installation

audit_entries = table_of(AuditEntry)


def _signed_in(client: Any, engine: Any, clock: Any) -> str:
    make_admin(engine, clock)
    sign_in(client)
    return csrf_of(client)


def _entry(engine: Any, action: str) -> Any:
    with engine.connect() as conn:
        return conn.execute(
            sa.select(audit_entries).where(audit_entries.c.action == action).order_by(audit_entries.c.id.desc())
        ).first()


def _licensed_device(client: Any, product: Any, csrf: str) -> tuple[Installation, int]:
    issued = client.post("/admin/licenses", data={"csrf": csrf, "product": "acme", "email": "bob@example.com"})
    key = issued.text.split('id="license-key"><code>')[1].split("<")[0]
    device = Installation(client, product.public_key)
    device.check()
    assert device.check(path="/v1/activate", key=key)["status"] == "registered"
    license_id = int(issued.text.split('href="/admin/licenses/')[1].split('"')[0])
    return device, license_id


def test_revoke_without_reason_changes_nothing_and_says_so_beside_the_field(client, engine, clock, product):
    csrf = _signed_in(client, engine, clock)
    _device, license_id = _licensed_device(client, product, csrf)
    page = client.post(f"/admin/licenses/{license_id}/revoke", data={"csrf": csrf, "reason": "  "})
    assert page.status_code == 400
    assert 'id="revoke" open' in page.text and "Give a reason" in page.text and 'id="revoke-error"' in page.text
    with engine.connect() as conn:
        assert conn.execute(sa.select(table_of(License).c.state)).scalar_one() == "active"
    assert _entry(engine, "license.revoke") is None

    done = client.post(
        f"/admin/licenses/{license_id}/revoke",
        data={"csrf": csrf, "reason": "refund of order 77"},
        follow_redirects=True,
    )
    assert "License revoked" in done.text
    entry = _entry(engine, "license.revoke")
    assert entry.details["reason"] == "refund of order 77" and entry.actor == "admin:ann@vendor.example"
    # The license's history shows who did it and why, beside the device's events.
    history = done.text.split('id="history"')[1]
    assert "License revoked (1 seat freed)" in history and "Reason: refund of order 77" in history
    assert "ann@vendor.example" in history and "Activation" in history


def test_block_and_free_seat_need_a_reason_which_the_audit_and_the_device_history_keep(client, engine, clock, product):
    csrf = _signed_in(client, engine, clock)
    device, _license_id = _licensed_device(client, product, csrf)
    url = f"/admin/devices/{device.device_id}"
    refused = client.post(f"{url}/free-seat", data={"csrf": csrf})
    assert refused.status_code == 400 and 'id="free-seat" open' in refused.text and "Give a reason" in refused.text

    client.post(f"{url}/free-seat", data={"csrf": csrf, "reason": "customer replaced the laptop"})
    assert _entry(engine, "device.free_seat").details["reason"] == "customer replaced the laptop"
    blocked = client.post(f"{url}/block", data={"csrf": csrf, "reason": "chargeback"}, follow_redirects=True)
    assert "Machine blocked" in blocked.text
    entry = _entry(engine, "device.set_status")
    assert entry.details["reason"] == "chargeback" and entry.details["status"] == "blocked"
    history = blocked.text.split('id="history"')[1]
    assert "Status set to blocked" in history and "Reason: chargeback" in history
    assert "Seat freed" in history and "Reason: customer replaced the laptop" in history
    # A blocked machine is not offered a trial extension, nor a second block, nor a seat it no longer holds.
    assert 'id="extend-trial"' not in blocked.text and 'id="block"' not in blocked.text
    assert 'id="free-seat"' not in blocked.text


def test_a_registered_device_is_not_offered_a_trial_extension(client, engine, clock, product):
    csrf = _signed_in(client, engine, clock)
    device, _ = _licensed_device(client, product, csrf)
    page = client.get(f"/admin/devices/{device.device_id}")
    assert 'id="extend-trial"' not in page.text and 'id="free-seat"' in page.text
    trial = Installation(client, product.public_key, machine="m9", disk="d9", cpu="c9", mac="n9")
    trial.check()
    page = client.get(f"/admin/devices/{trial.device_id}")
    assert 'id="extend-trial"' in page.text and 'id="free-seat"' not in page.text


def test_extend_trial_error_stays_beside_its_field_with_what_was_typed(client, engine, clock, product):
    csrf = _signed_in(client, engine, clock)
    trial = Installation(client, product.public_key)
    trial.check()
    page = client.post(f"/admin/devices/{trial.device_id}/extend-trial", data={"csrf": csrf, "days": "9000"})
    assert page.status_code == 400
    field = page.text.split('id="extend-trial"')[1].split("</form>")[0]
    assert 'value="9000"' in field and 'aria-invalid="true"' in field and "days must be between 1 and 3650" in field


def test_token_revoke_keeps_its_reason(client, engine, clock, product):
    csrf = _signed_in(client, engine, clock)
    client.post("/admin/tokens", data={"csrf": csrf, "name": "shop", "scope": "read"})
    with engine.connect() as conn:
        token_id = conn.execute(sa.select(table_of(ApiToken).c.id)).scalar_one()
    refused = client.post(f"/admin/tokens/{token_id}/revoke", data={"csrf": csrf})
    assert refused.status_code == 400 and f'id="revoke-{token_id}" open' in refused.text
    with engine.connect() as conn:
        assert conn.execute(sa.select(table_of(ApiToken).c.revoked_at)).scalar_one() is None
    client.post(f"/admin/tokens/{token_id}/revoke", data={"csrf": csrf, "reason": "leaked in a CI log"})
    assert _entry(engine, "token.revoke").details == {"reason": "leaked in a CI log"}


def test_developer_api_takes_an_optional_reason_for_revoke_and_free_seat(client, engine, clock, product):
    from licentia.server.auth.tokens import create_token

    with engine.begin() as conn:
        token = create_token(conn, name="shop", scopes=["read", "write"], now=clock.now(), created_by="test").token
    bearer = {"Authorization": f"Bearer {token}"}
    made = client.post("/v1/admin/licenses", json={"product": "acme", "email": "c@example.com"}, headers=bearer)
    assert made.status_code in (200, 201), made.text
    license_id, key = made.json()["id"], made.json()["key"]
    device = Installation(client, product.public_key)
    device.check()
    device.check(path="/v1/activate", key=key)
    freed = client.post(
        f"/v1/admin/devices/{device.device_id}/free-seat", json={"reason": "moved to a new PC"}, headers=bearer
    )
    assert freed.status_code == 200, freed.text
    assert _entry(engine, "device.free_seat").details["reason"] == "moved to a new PC"
    # Without a body, as before: the reason is simply not recorded.
    assert client.post(f"/v1/admin/licenses/{license_id}/revoke", headers=bearer).status_code == 200
    assert _entry(engine, "license.revoke").details["reason"] is None
    too_long = client.post(f"/v1/admin/licenses/{license_id}/suspend", json={"reason": "x"}, headers=bearer)
    assert too_long.status_code in (200, 409, 422)


def test_runs_of_checks_fold_into_one_line_with_their_span_and_versions():
    start = dt.datetime(2026, 10, 17, 9, tzinfo=dt.UTC)

    def event(kind: str, day: int, **data: Any) -> Line:
        return Line(
            at=start + dt.timedelta(days=day),
            kind=kind,
            title=kind,
            details=data,
            device_id="dv_1",
            checks=1 if kind == "check" else 0,
            versions=tuple(str(v) for k, v in data.items() if k in ("app_version", "from", "to")),
        )

    lines = [event("install", 0, app_version="1.2.0")]
    lines += [event("check", d, app_version="1.2.0") for d in range(0, 20)]
    lines.append(event("upgrade", 20, **{"from": "1.2.0", "to": "1.2.1"}))
    lines += [event("check", d, app_version="1.2.1") for d in range(20, 27)]
    lines.append(Line(at=start + dt.timedelta(days=28), kind="staff", title="Seat freed", who="ann"))
    lines.append(event("check", 30, app_version="1.2.1"))
    folded = fold(lines)
    assert [line.title for line in folded] == [
        "check",
        "Seat freed",
        "27 checks, 17 Oct-12 Nov, 1.2.0 -> 1.2.1",
        "install",
    ]


def test_devices_table_is_untouched_by_reading_pages(client, engine, clock, product):
    # Reading a device page (risk, machine, history) writes nothing: the check path owns the row.
    _signed_in(client, engine, clock)
    device = Installation(client, product.public_key)
    device.check()
    with engine.connect() as conn:
        before = conn.execute(sa.select(table_of(Device))).one()
    assert client.get(f"/admin/devices/{device.device_id}").status_code == 200
    with engine.connect() as conn:
        assert conn.execute(sa.select(table_of(Device))).one() == before


def test_a_refused_form_posted_through_htmx_still_shows_its_errors(client, engine, clock, product):
    # htmx swaps only 2xx answers: a boosted form gets the same page, errors beside the fields, as a 200.
    csrf = _signed_in(client, engine, clock)
    _device, license_id = _licensed_device(client, product, csrf)
    page = client.post(f"/admin/licenses/{license_id}/revoke", data={"csrf": csrf}, headers={"HX-Request": "true"})
    assert page.status_code == 200 and 'id="revoke-error"' in page.text
    with engine.connect() as conn:
        assert conn.execute(sa.select(table_of(License).c.state)).scalar_one() == "active"


def test_a_refused_issue_shows_its_error_beside_the_field_with_what_was_typed(client, engine, clock, product):
    csrf = _signed_in(client, engine, clock)
    sent = {"csrf": csrf, "product": "acme", "email": "carol@example.com", "name": "Carol", "expires": "2020-01-01"}
    page = client.post("/admin/licenses", data=sent)
    assert page.status_code == 400
    html = page.text
    # The error sits in the expiry field's label, which says it is invalid; what was typed is kept.
    expires_label = html.split('name="expires"')[1].split("</label>")[0]
    assert 'aria-invalid="true"' in expires_label and 'id="expires-error"' in expires_label
    assert 'value="carol@example.com"' in html and 'value="Carol"' in html
    assert 'class="flash err"' not in html  # not at the top of the page
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(table_of(License))).scalar_one() == 0
