"""The developer API's air-gapped activation: the rules a vendor's integration meets, with the server's clock moved."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from licentia.client import Licentia
from licentia.server.auth.tokens import create_token
from licentia.server.licenses.service import issue_license
from tests.client.conftest import FakeMachine


def _setup(engine: Any, clock: Any, **license: Any) -> tuple[dict[str, str], str]:
    with engine.begin() as conn:
        token = create_token(conn, name="shop", scopes=["write"], now=clock.now(), created_by="test").token
        key = issue_license(conn, product="acme", email="c@example.com", now=clock.now(), **license).key
    return {"Authorization": f"Bearer {token}"}, key


def _machine(tmp_path: Path, product: Any, clock: Any, name: str = "m") -> Licentia:
    machine = FakeMachine(tmp_path / name, disk=f"DISK-{name}", cpu=f"i7-{len(name)}")  # another computer each
    return Licentia(
        "http://127.0.0.1:9", "acme", product.public_key, tmp_path / f"{name}-data", fingerprint_root=machine.root,
        clock=clock,
    )  # fmt: skip


def test_an_old_request_is_refused_and_the_lease_is_the_vendors_choice(
    client: Any, engine: Any, clock: Any, product: Any, tmp_path: Path
) -> None:
    headers, key = _setup(engine, clock)
    app = _machine(tmp_path, product, clock)
    stale = app.activation_request(key)
    clock.advance(days=31)
    refused = client.post("/v1/admin/offline/activations", json={"request": stale}, headers=headers)
    assert (refused.status_code, refused.json()["error"]["code"]) == (400, "offline_request_expired")
    fresh = app.activation_request(key)
    too_long = client.post(
        "/v1/admin/offline/activations", json={"request": fresh, "lease_days": 5000}, headers=headers
    )
    assert too_long.status_code == 422
    done = client.post("/v1/admin/offline/activations", json={"request": fresh, "lease_days": 30}, headers=headers)
    assert done.status_code == 200, done.text
    assert done.json()["lease_until"].startswith((clock.now() + dt.timedelta(days=30)).date().isoformat())
    assert app.install_activation(done.json()["response"]).allowed


def test_suspended_licenses_refuse_and_nothing_is_kept(
    client: Any, engine: Any, clock: Any, product: Any, tmp_path: Path
) -> None:
    headers, key = _setup(engine, clock)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE licenses SET state = 'suspended'"))
    app = _machine(tmp_path, product, clock)
    request = app.activation_request(key)
    refused = client.post("/v1/admin/offline/activations", json={"request": request}, headers=headers)
    assert (refused.status_code, refused.json()["error"]["code"]) == (403, "license_suspended")
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM devices")).scalar_one() == 0
        assert conn.execute(sa.text("SELECT count(*) FROM offline_activations")).scalar_one() == 0
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE licenses SET state = 'active'"))
    # Refused, the request was not used up: the same file works once the vendor reinstated the license.
    assert client.post("/v1/admin/offline/activations", json={"request": request}, headers=headers).status_code == 200


def test_each_vendor_action_is_audited_and_needs_a_write_token(
    client: Any, engine: Any, clock: Any, product: Any, tmp_path: Path
) -> None:
    headers, key = _setup(engine, clock)
    with engine.begin() as conn:
        reader = create_token(conn, name="reader", scopes=["read"], now=clock.now(), created_by="test").token
    app = _machine(tmp_path, product, clock)
    request = app.activation_request(key)
    denied = client.post(
        "/v1/admin/offline/activations", json={"request": request}, headers={"Authorization": f"Bearer {reader}"}
    )
    assert (denied.status_code, denied.json()["error"]["code"]) == (403, "insufficient_scope")
    done = client.post("/v1/admin/offline/activations", json={"request": request}, headers=headers).json()
    app.install_activation(done["response"])
    freed = client.post("/v1/admin/offline/deactivations", json={"proof": app.deactivate_offline()}, headers=headers)
    assert freed.json() == {**{k: done[k] for k in ("activation", "device", "license_id")}, "seat_freed": True}
    with engine.connect() as conn:
        audit = conn.execute(sa.text("SELECT actor, action, target_id FROM audit_entries ORDER BY id")).all()
    assert [tuple(row) for row in audit] == [
        ("token:shop", "license.offline_activate", str(done["license_id"])),
        ("token:shop", "license.offline_deactivate", str(done["license_id"])),
    ]


def test_a_computer_whose_clock_runs_behind_accepts_its_response(
    client: Any, engine: Any, clock: Any, product: Any, tmp_path: Path
) -> None:
    from licentia.core.clock import ManualClock

    headers, key = _setup(engine, clock)
    behind = ManualClock(clock.now() - dt.timedelta(hours=5))
    app = _machine(tmp_path, product, behind)
    done = client.post("/v1/admin/offline/activations", json={"request": app.activation_request(key)}, headers=headers)
    behind.advance(minutes=30)  # the trip to the vendor and back, on the computer's slow clock
    # (Installing verifies the document at the computer's time, which is behind the document's issue time.)
    assert app.install_activation(done.json()["response"]).state == "registered"
    ahead = _machine(tmp_path, product, ManualClock(clock.now() + dt.timedelta(days=2)), name="ahead")
    refused = client.post(
        "/v1/admin/offline/activations", json={"request": ahead.activation_request(key)}, headers=headers
    )
    assert (refused.status_code, refused.json()["error"]["code"]) == (400, "offline_request_expired")
    assert "clock" in refused.json()["error"]["message"]


def test_an_offline_lease_keeps_its_seat_until_it_ends_or_the_proof_frees_it(
    client: Any, engine: Any, clock: Any, product: Any, tmp_path: Path
) -> None:
    """Unseen by design: the scheduled seat release must not let the license run on one machine too many."""
    from licentia.server.licenses.seat_release import release_all

    headers, key = _setup(engine, clock, max_devices=1)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE policies SET seat_release_days = 30"))
    app = _machine(tmp_path, product, clock)
    done = client.post(
        "/v1/admin/offline/activations",
        json={"request": app.activation_request(key), "lease_days": 90},
        headers=headers,
    )
    assert done.status_code == 200

    def bound() -> int:
        with engine.connect() as conn:
            return int(conn.execute(sa.text("SELECT count(*) FROM devices WHERE license_id IS NOT NULL")).scalar_one())

    clock.advance(days=60)  # unseen twice the release period, inside the lease
    release_all(engine, clock.now())
    assert bound() == 1
    other = _machine(tmp_path, product, clock, name="other")
    full = client.post(
        "/v1/admin/offline/activations", json={"request": other.activation_request(key)}, headers=headers
    )
    assert (full.status_code, full.json()["error"]["code"]) == (403, "too_many_devices")
    clock.advance(days=31)  # the lease ended: now it is an installation unseen for 91 days like any other
    release_all(engine, clock.now())
    assert bound() == 0
