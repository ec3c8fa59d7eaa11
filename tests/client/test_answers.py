"""Answers a client can trust: online answers bound to the request, judged on the server's time.

A fake server on a loopback port plays the attacker who saved genuine answers
(or holds the product's key, where the test owns it) and replays them: the SDK
refuses every answer that does not carry its request's nonce or names another
installation, stores nothing of it, and decides offline as before.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from collections.abc import Callable
from contextlib import AbstractContextManager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from licentia.client import InvalidAnswer, Licentia
from licentia.client.state import STATE_FILE
from licentia.core.clock import UTC, ManualClock, to_iso
from licentia.core.signing import SigningKey
from tests.client.conftest import FakeMachine, app, read_state
from tests.client.hostile import serving
from tests.conftest import LiveServer

Answer = Callable[[dict[str, Any]], dict[str, Any]]


class _Handler(BaseHTTPRequestHandler):
    server: _FakeServer

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
        self.server.requests.append(body)
        answer = json.dumps(self.server.answer(body)).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.wfile.write(answer)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _FakeServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, answer: Answer) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.answer = answer
        self.requests: list[dict[str, Any]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


def fake_server(answer: Answer) -> AbstractContextManager[_FakeServer]:
    """A server on a free loopback port that answers every POST with ``answer(request body)``."""
    return serving(_FakeServer(answer))


def test_a_saved_genuine_answer_replayed_by_a_fake_server_is_refused(
    server: LiveServer, machine: FakeMachine, tmp_path: Path
) -> None:
    key = server.cli("license", "issue", "--product", "my-app", "--email", "ann@example.com").stdout.strip()
    lic = app(server, tmp_path / "data", machine, ManualClock())
    assert lic.activate(key).state == "registered"
    saved = {"credential": None, "signed": read_state(tmp_path / "data")["signed"]}  # what a pirate keeps
    assert saved["signed"]["document"]["nonce"]  # the genuine answer answered one request
    license_id = server.cli("license", "list", "--product", "my-app", "--prefix", key[:5]).stdout.split()[0]
    assert server.cli("license", "revoke", license_id).returncode == 0  # refunded

    before = (tmp_path / "data" / STATE_FILE).read_bytes()
    with fake_server(lambda body: saved) as fake:
        pirate = Licentia(fake.url, "my-app", server.public_key(), tmp_path / "data",
                          fingerprint_root=machine.root, clock=lic.clock)  # fmt: skip
        with pytest.raises(InvalidAnswer, match="nonce_mismatch"):
            pirate.activate(key)
        status = pirate.check()
        assert fake.requests and all(r.get("nonce") for r in fake.requests)
    # Not taken as an online answer: the stored document decides, for its lease and grace only.
    assert not status.online
    assert (tmp_path / "data" / STATE_FILE).read_bytes() == before
    # The real server says what happened to the license.
    assert lic.check().state != "registered"


class Owned:
    """An installation pinned to a key the test owns: it signs what a fake server answers."""

    def __init__(self, machine: FakeMachine, data_dir: Path) -> None:
        self.key = SigningKey.generate()
        self.machine, self.data_dir, self.clock = machine, data_dir, ManualClock()

    def at(self, url: str) -> Licentia:
        """The installation (its data directory, machine and clock), talking to ``url``."""
        return Licentia(url, "my-app", self.key.export_public(), self.data_dir, fingerprint_root=self.machine.root,
                        clock=self.clock)  # fmt: skip


@pytest.fixture
def owned(machine: FakeMachine, tmp_path: Path) -> Owned:
    return Owned(machine, tmp_path / "owned")


def document(lic: Licentia, **changes: Any) -> dict[str, Any]:
    """A status document for this installation's hardware, as the server writes them."""
    fp = lic.fingerprint()
    now = dt.datetime.now(UTC).replace(microsecond=0)
    doc = {
        "v": 1, "product": lic.product, "device": "dv_0f3a9c5e7b2d4a61", "machine": "mc_7e21b0c4d9f35a88",
        "components": fp.components, "data_path": fp.data_path, "min_match": 2, "status": "registered",
        "reason": None, "allowed": True, "trial_end": None,
        "license": {"key_prefix": "7KQ2M", "state": "active", "expires_at": None, "policy": "Standard"},
        "features": ["pro"], "issued_at": to_iso(now), "lease_until": to_iso(now + dt.timedelta(days=7)),
        "grace_days": 7, "token": "k3J9xQ2vN8k3J9xQ2vN8", "clone_suspected": False,
    }  # fmt: skip
    doc.update(changes)
    return doc


def answer_of(key: SigningKey, doc: dict[str, Any], *, first_contact: bool = True) -> dict[str, Any]:
    credential = {"device": doc["device"], "secret": "s3cr3t-s3cr3t-s3cr3t"} if first_contact else None
    return {"credential": credential, "signed": json.loads(key.sign(doc))}


OLD = dt.datetime(2020, 1, 15, 9, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    "forge",
    [
        pytest.param(lambda lic, body: {"issued_at": to_iso(OLD), "lease_until": to_iso(OLD + dt.timedelta(7))},
                     id="issued in 2020, no nonce"),
        pytest.param(lambda lic, body: {"issued_at": to_iso(OLD), "nonce": "QW4gZWFybGllciByZXF1ZXN0"},
                     id="issued in 2020, an earlier request's nonce"),
        pytest.param(lambda lic, body: {"issued_at": to_iso(dt.datetime.now(UTC) + dt.timedelta(days=2))},
                     id="issued two days ahead"),
        pytest.param(lambda lic, body: {"nonce": body["nonce"][:-1] + ("A" if body["nonce"][-1] != "A" else "B")},
                     id="a wrong nonce"),
    ],
)  # fmt: skip
def test_genuine_documents_that_do_not_answer_this_request_are_refused(
    owned: Owned, forge: Callable[[Licentia, dict[str, Any]], dict[str, Any]]
) -> None:
    with fake_server(lambda body: answer_of(owned.key, document(lic, **forge(lic, body)))) as fake:
        lic = owned.at(fake.url)
        with pytest.raises(InvalidAnswer, match="not the answer to this request"):
            lic.credential()
        status = lic.check()
    assert not status.allowed and not status.online and status.reason == "no_document"
    assert not (lic.data_dir / STATE_FILE).exists()  # nothing of it was stored


def test_another_installations_answer_carrying_this_nonce_is_refused(owned: Owned) -> None:
    """A fake server that forwards the nonce to the real server with another installation's credential."""
    key = owned.key
    with fake_server(lambda body: answer_of(key, document(lic, nonce=body["nonce"]))) as fake:
        lic = owned.at(fake.url)
        assert lic.check().online  # a bound answer: taken
        state = (lic.data_dir / STATE_FILE).read_bytes()

        fake.answer = lambda body: answer_of(key, document(lic, nonce=body["nonce"], device="dv_77aa00bb11cc22dd"),
                                             first_contact=False)  # fmt: skip
        with pytest.raises(InvalidAnswer, match="other_installation"):
            lic.deactivate()
        fake.answer = lambda body: answer_of(key, document(lic, nonce=body["nonce"], machine="mc_0000aaaa1111bbbb"),
                                             first_contact=False)  # fmt: skip
        with pytest.raises(InvalidAnswer, match="other_machine"):
            lic.deactivate()
        status = lic.check()
    assert (lic.data_dir / STATE_FILE).read_bytes() == state
    assert status.allowed and not status.online and status.device == "dv_0f3a9c5e7b2d4a61"


def test_a_bound_answer_measures_the_clock_offset_and_offline_checks_use_it(owned: Owned) -> None:
    """The local clock runs two days behind the server's: online and offline agree, and nothing locks up."""
    clock = owned.clock
    clock.advance(days=-2)
    server_now = dt.datetime.now(UTC).replace(microsecond=0)
    trial: dict[str, Any] = {
        "status": "trial",
        "license": None,
        "features": [],
        "trial_end": to_iso(server_now + dt.timedelta(days=3)),
        "lease_until": to_iso(server_now + dt.timedelta(days=1)),
    }
    with fake_server(lambda body: answer_of(owned.key, document(lic, nonce=body["nonce"], **trial))) as fake:
        lic = owned.at(fake.url)
        online = lic.check()
    assert online.online and online.state == "trial" and online.days_left == 3
    assert abs(read_state(lic.data_dir)["clock_offset"] - 2 * 86400) <= 5
    offline = lic.check(online=False)
    assert offline.allowed and offline.state == "trial" and offline.days_left == 3  # judged on the server's time
    clock.advance(days=1, hours=1)  # the server's time is past the lease: grace, not a full lease
    assert lic.check(online=False).state == "grace"
    clock.advance(days=-1, hours=-4)  # wound back after the check: caught on the local clock
    assert lic.check(online=False).reason == "clock_rollback"
