"""Air-gapped activation end to end: the SDK on machines with no network, the vendor on the developer API.

The server is real (HTTP on a loopback port, SQLite, and PostgreSQL when
LICENTIA_TEST_POSTGRES_URL is set); the "offline" machines are SDK instances
pointed at a port where nothing listens, so any call they made would fail.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from licentia.client import InvalidAnswer, Licentia
from licentia.core import airgap
from licentia.core.clock import ManualClock
from tests.client.conftest import FakeMachine
from tests.databases import PG_URL, pg_database
from tests.processes import InProcessServer, free_port

PRODUCT = "my-app"


class Vendor:
    """The real server, a write token for its developer API, and direct database access for set-up."""

    def __init__(self, server: InProcessServer, database_url: str) -> None:
        from licentia.server.auth.tokens import create_token
        from licentia.server.store.engine import database_urls, make_sync_engine

        self.server = server
        self.engine = make_sync_engine(database_urls(database_url), pool_size=1)
        with self.engine.begin() as conn:
            made = create_token(conn, name="shop", scopes=["write"], now=dt.datetime.now(dt.UTC), created_by="test")
        self.http = httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {made.token}"}, timeout=60)

    def issue(self, max_devices: int = 1) -> str:
        from licentia.server.licenses.service import issue_license

        with self.engine.begin() as conn:
            return issue_license(
                conn, product=PRODUCT, email="buyer@example.com", now=dt.datetime.now(dt.UTC), max_devices=max_devices
            ).key

    def activate(self, request: str, **extra: Any) -> httpx.Response:
        return self.http.post("/v1/admin/offline/activations", json={"request": request, **extra})

    def deactivate(self, proof: str) -> httpx.Response:
        return self.http.post("/v1/admin/offline/deactivations", json={"proof": proof})

    def seats(self, key: str) -> int:
        import sqlalchemy as sa

        from licentia.core.licensekeys import key_hash, normalize_key

        with self.engine.connect() as conn:
            return int(
                conn.execute(
                    sa.text(
                        "SELECT count(DISTINCT d.machine_id) FROM devices d JOIN licenses l ON l.id = d.license_id "
                        "WHERE l.key_hash = :h"
                    ),
                    {"h": key_hash(normalize_key(key))},
                ).scalar_one()
            )

    def close(self) -> None:
        self.http.close()
        self.engine.dispose()


@pytest.fixture(
    scope="module",
    params=[
        "sqlite",
        pytest.param(
            "postgresql",
            marks=[pytest.mark.postgres, pytest.mark.skipif(not PG_URL, reason="LICENTIA_TEST_POSTGRES_URL not set")],
        ),
    ],
)
def vendor(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Vendor]:
    data_dir = tmp_path_factory.mktemp("srv") / "server"
    with contextlib.ExitStack() as stack:
        if request.param == "postgresql":
            url = stack.enter_context(contextlib.contextmanager(pg_database)())
        else:
            url = f"sqlite:///{(data_dir / 'licentia.db').resolve()}"
        server = InProcessServer(data_dir, database_url=url).start()
        stack.callback(server.stop)
        made = Vendor(server, url)
        stack.callback(made.close)
        yield made


def offline_app(vendor: Vendor, data_dir: Path, machine: FakeMachine, clock: ManualClock | None = None) -> Licentia:
    """An SDK whose server URL leads nowhere: this machine never reaches the network."""
    return Licentia(
        f"http://127.0.0.1:{free_port()}",
        PRODUCT,
        vendor.server.public_key(PRODUCT),
        data_dir,
        fingerprint_root=machine.root,
        clock=clock,
        timeout=0.5,
    )


def test_round_trip_activates_offline_and_the_response_is_refused_on_another_machine(
    vendor: Vendor, tmp_path: Path
) -> None:
    key = vendor.issue(max_devices=2)
    here = offline_app(vendor, tmp_path / "here", FakeMachine(tmp_path / "m1", disk="DISK-1", mac="00:11:22:33:44:01"))
    other_machine = FakeMachine(tmp_path / "m2", disk="DISK-2", cpu="i5-1135G7", mac="00:11:22:33:44:02")
    other = offline_app(vendor, tmp_path / "other", other_machine)
    assert here.check(online=False).allowed is False  # nothing installed yet

    request = here.activation_request(key)
    assert request.startswith("-----BEGIN LICENTIA ACTIVATION REQUEST-----")
    answered = vendor.activate(request, lease_days=400)
    assert answered.status_code == 200, answered.text
    response = answered.json()["response"]

    # The other machine wrote its own request (so it has keys of its own); the copied response still fails.
    other.activation_request(key)
    with pytest.raises(InvalidAnswer):
        other.install_activation(response)
    assert other.check(online=False).allowed is False

    status = here.install_activation(response)
    assert (status.allowed, status.state) == (True, "registered")
    offline = here.check(online=False)
    assert (offline.allowed, offline.state, offline.device) == (True, "registered", answered.json()["device"])
    assert vendor.seats(key) == 1
    for name in ("state.json", "offline.json"):
        assert stat.S_IMODE(os.stat(tmp_path / "here" / name).st_mode) == 0o600

    # Registered until the lease the vendor chose ends, and no longer.
    late = offline_app(vendor, tmp_path / "here", here_machine_at(tmp_path / "m1"), ManualClock(here.clock.now()))
    late.clock.advance(days=399)  # type: ignore[attr-defined]
    assert late.check(online=False).allowed is True
    late.clock.advance(days=30)  # type: ignore[attr-defined]
    assert late.check(online=False).allowed is False


def test_a_request_is_single_use_and_a_tampered_one_is_refused(vendor: Vendor, tmp_path: Path) -> None:
    key = vendor.issue(max_devices=5)
    app = offline_app(vendor, tmp_path / "d", FakeMachine(tmp_path / "m"))
    request = app.activation_request(key)
    assert vendor.activate(request).status_code == 200
    again = vendor.activate(request)
    assert (again.status_code, again.json()["error"]["code"]) == (409, "offline_request_used")

    # Edit the key inside a fresh request (keeping it well-formed): the machine's signature no longer matches.
    fresh = app.activation_request(key)
    body = airgap.unarmor(airgap.REQUEST, fresh)
    body["claim"]["fingerprint"]["components"]["disk"] = "0" * 64
    forged = airgap.armor(airgap.REQUEST, body)
    refused = vendor.activate(forged)
    assert (refused.status_code, refused.json()["error"]["code"]) == (400, "invalid_offline_request")
    for garbage in ("", "hello", fresh.replace("REQUEST", "RESPONSE"), fresh[:80] + "!!" + fresh[82:]):
        answer = vendor.activate(garbage)
        assert (answer.status_code, answer.json()["error"]["code"]) == (400, "invalid_offline_request"), garbage


def test_the_seat_rules_of_online_activation_hold(vendor: Vendor, tmp_path: Path) -> None:
    key = vendor.issue(max_devices=1)
    first = offline_app(vendor, tmp_path / "a", FakeMachine(tmp_path / "ma"))
    second = offline_app(vendor, tmp_path / "b", FakeMachine(tmp_path / "mb", disk="OTHER", cpu="i3-7100"))
    assert vendor.activate(first.activation_request(key)).status_code == 200
    full = vendor.activate(second.activation_request(key))
    assert (full.status_code, full.json()["error"]["code"]) == (403, "too_many_devices")
    bad_key = vendor.activate(second.activation_request("ABCDE-FGHJK-LMNPQ-RSTUV-WXYZ2"))
    assert bad_key.status_code == 400 and bad_key.json()["error"]["code"] in ("invalid_key", "invalid_offline_request")
    # Another data path on the machine that holds the seat takes none.
    same_machine = offline_app(vendor, tmp_path / "a2", here_machine_at(tmp_path / "ma"))
    assert vendor.activate(same_machine.activation_request(key)).status_code == 200
    assert vendor.seats(key) == 1


def here_machine_at(root: Path) -> FakeMachine:
    """A machine made earlier in the test, again (its files are already there)."""
    machine = FakeMachine.__new__(FakeMachine)
    machine.root = root
    return machine


def test_offline_deactivation_frees_the_seat_once(vendor: Vendor, tmp_path: Path) -> None:
    key = vendor.issue(max_devices=1)
    first = offline_app(vendor, tmp_path / "a", FakeMachine(tmp_path / "ma"))
    first.install_activation(vendor.activate(first.activation_request(key)).json()["response"])
    assert first.check(online=False).allowed is True

    proof = first.deactivate_offline()
    assert first.check(online=False).allowed is False  # the machine stopped using the seat first
    assert first.deactivate_offline() == proof  # a lost proof file can be written again, the same proof

    # Forged: signed by another key (the attacker's), or edited.
    body = airgap.unarmor(airgap.PROOF, proof)
    body["claim"]["nonce"] = airgap.new_nonce()
    edited = vendor.deactivate(airgap.armor(airgap.PROOF, body))
    assert (edited.status_code, edited.json()["error"]["code"]) == (400, "invalid_offline_proof")
    assert vendor.seats(key) == 1

    freed = vendor.deactivate(proof)
    assert freed.status_code == 200, freed.text
    assert freed.json()["seat_freed"] is True
    assert vendor.seats(key) == 0
    again = vendor.deactivate(proof)
    assert (again.status_code, again.json()["error"]["code"]) == (409, "offline_proof_used")

    # The seat is free for another machine.
    second = offline_app(vendor, tmp_path / "b", FakeMachine(tmp_path / "mb", disk="OTHER", cpu="i3-7100"))
    assert vendor.activate(second.activation_request(key)).status_code == 200


def test_an_online_check_later_joins_the_normal_path(vendor: Vendor, tmp_path: Path) -> None:
    key = vendor.issue(max_devices=1)
    machine = FakeMachine(tmp_path / "m")
    app = offline_app(vendor, tmp_path / "d", machine)
    app.install_activation(vendor.activate(app.activation_request(key)).json()["response"])
    online = Licentia(
        vendor.server.url, PRODUCT, vendor.server.public_key(PRODUCT), tmp_path / "d", fingerprint_root=machine.root
    )
    status = online.check()
    assert (status.online, status.allowed, status.state) == (True, True, "registered")
    assert status.device == app.check(online=False).device
    assert vendor.seats(key) == 1


def test_a_response_is_refused_when_edited_or_for_a_request_never_made(vendor: Vendor, tmp_path: Path) -> None:
    key = vendor.issue(max_devices=3)
    app = offline_app(vendor, tmp_path / "d", FakeMachine(tmp_path / "m"))
    response = vendor.activate(app.activation_request(key)).json()["response"]
    body = airgap.unarmor(airgap.RESPONSE, response)
    body["signed"]["document"]["lease_until"] = "2099-01-01T00:00:00Z"
    with pytest.raises(InvalidAnswer):
        app.install_activation(airgap.armor(airgap.RESPONSE, body))
    # The same installation in a fresh data directory never wrote that request.
    stranger = offline_app(vendor, tmp_path / "d2", here_machine_at(tmp_path / "m"))
    with pytest.raises(InvalidAnswer):
        stranger.install_activation(response)
    for garbage in ("", "x" * 100, json.dumps({"signed": {}})):
        with pytest.raises(InvalidAnswer):
            app.install_activation(garbage)
    assert app.check(online=False).allowed is False
    assert app.install_activation(response).allowed is True
