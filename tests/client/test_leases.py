"""``lic.checkout()``: floating seats from the SDK against a real server (over HTTP on a loopback port)."""

from __future__ import annotations

import json
import shutil
import socket
import sqlite3
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from licentia.client import InvalidKey, Lease, Offline, ServerRefused
from licentia.client.lease_documents import LEASE_FILE
from licentia.core.clock import ManualClock
from tests.client.conftest import FakeMachine, app, server_db
from tests.conftest import LiveServer


def issue_floating(server: LiveServer, seats: int = 1, borrow_days: int = 0) -> str:
    """Issue a license of a new floating type (60 s leases) on the server; returns its key."""
    import sqlalchemy as sa

    from licentia.core.clock import SystemClock
    from licentia.server.licenses.service import issue_license
    from licentia.server.policies.schemas import PolicySpec
    from licentia.server.policies.service import create_policy

    name = f"Floating {uuid.uuid4().hex[:8]}"
    knobs = {"kind": "floating", "max_devices": seats, "floating_lease_seconds": 60, "borrow_days": borrow_days}
    now = SystemClock().now()
    engine = sa.create_engine(f"sqlite:///{server.data_dir / 'licentia.db'}")
    try:
        with engine.begin() as conn:
            create_policy(conn, PolicySpec(knobs=knobs, name=name), product="my-app", actor="test", now=now)
            return issue_license(conn, product="my-app", email="team@example.com", now=now, policy=name).key
    finally:
        engine.dispose()


@pytest.fixture
def floating(server: LiveServer) -> Callable[..., str]:
    return lambda **kw: issue_floating(server, **kw)


def lease_row(server: LiveServer, lease_id: str) -> dict[str, Any]:
    conn = server_db(server)
    conn.row_factory = sqlite3.Row
    try:
        return dict(conn.execute("SELECT * FROM leases WHERE id = ?", (lease_id,)).fetchone())
    finally:
        conn.close()


def free_seat(server: LiveServer, lease_id: str) -> None:
    """What the vendor's "free seat" does, written the way the server writes it."""
    conn = server_db(server)
    try:
        conn.execute("UPDATE leases SET ended_at = expires_at, end_reason = 'force_released' WHERE id = ?", (lease_id,))
        conn.commit()
    finally:
        conn.close()


def other_machine(tmp_path: Path) -> FakeMachine:
    """Another computer: no hardware component in common with ``machine``."""
    return FakeMachine(tmp_path / "m2", disk="WD-OTHER-DISK", cpu="i5-1135G7", mac="3c:22:fb:00:00:02")


def until(condition: Callable[[], bool], seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


@pytest.fixture
def dead_url() -> Iterator[str]:
    """A loopback port nobody listens on: the network is down."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"


def test_a_lease_in_a_with_block_keeps_its_seat_with_heartbeats_and_returns_it(
    server: LiveServer, machine: FakeMachine, tmp_path: Path, floating: Callable[..., str]
) -> None:
    key = floating(seats=1)
    lic = app(server, tmp_path / "a", machine)
    with lic.checkout(key, heartbeats=False) as lease:
        assert isinstance(lease, Lease) and lease.valid and lease.state == "active" and not lease.borrowed
        assert lease.heartbeat_seconds == 20  # a third of the type's 60 s lease
        first = lease_row(server, lease.id)["heartbeat_at"]
        lease.start_heartbeats(every=0.1)
        until(lambda: lease.heartbeats >= 2)
        assert lease_row(server, lease.id)["heartbeat_at"] > first
        other = app(server, tmp_path / "b", other_machine(tmp_path))
        with pytest.raises(ServerRefused) as refused:
            other.checkout(key)
        assert refused.value.code == "no_seat_available" and refused.value.retry_after
    assert lease.state == "released" and not lease.valid
    assert lease_row(server, lease.id)["end_reason"] == "released"
    assert not (tmp_path / "a" / LEASE_FILE).exists()
    with other.checkout(key) as second:  # the seat went back at once
        assert second.valid


def test_heartbeats_survive_a_network_failure_and_resume(
    server: LiveServer, machine: FakeMachine, tmp_path: Path, floating: Callable[..., str], dead_url: str
) -> None:
    lic = app(server, tmp_path / "a", machine)
    with lic.checkout(floating(), heartbeats=False) as lease:
        lease.start_heartbeats(every=0.1)
        until(lambda: lease.heartbeats >= 1)
        live_url = lic.transport.server_url
        lic.transport.server_url = dead_url  # the network goes down under the running thread
        until(lambda: (lease.error or "").startswith("offline"))
        assert lease.valid and lease.state == "active"  # held until the lease's end
        count = lease.heartbeats
        lic.transport.server_url = live_url
        until(lambda: lease.heartbeats > count and lease.error is None)
        assert lease.valid


def test_a_lease_the_vendor_freed_is_checked_out_again_or_lost_when_no_seat_is_free(
    server: LiveServer, machine: FakeMachine, tmp_path: Path, floating: Callable[..., str]
) -> None:
    key = floating(seats=1)
    lic = app(server, tmp_path / "a", machine)
    with lic.checkout(key, heartbeats=False) as lease:
        first = lease.id
        free_seat(server, first)
        lease.start_heartbeats(every=0.1)
        until(lambda: lease.id != first)  # lease_expired, then a new checkout: the seat was free
        assert lease.valid and lease_row(server, lease.id)["ended_at"] is None
    # Freed again, and another machine takes the seat before the next heartbeat.
    lease = lic.checkout(key, heartbeats=False)
    free_seat(server, lease.id)
    other = app(server, tmp_path / "b", other_machine(tmp_path)).checkout(key, heartbeats=False)
    lease.start_heartbeats(every=0.1)
    until(lambda: lease.state == "lost")
    assert not lease.valid and lease.error == "no_seat_available"
    other.release()
    lease.release()


def test_a_borrowed_seat_works_offline_until_its_end_and_not_after(
    server: LiveServer, machine: FakeMachine, tmp_path: Path, floating: Callable[..., str], dead_url: str
) -> None:
    key = floating(seats=1, borrow_days=3)
    clock = ManualClock()
    lic = app(server, tmp_path / "a", machine, clock)
    with pytest.raises(ServerRefused, match="borrow_not_allowed"):
        lic.checkout(key, borrow_days=4)
    borrowed = lic.checkout(key, borrow_days=3)
    assert borrowed.borrowed and borrowed.state == "borrowed" and borrowed.valid
    with borrowed:
        pass  # leaving a block keeps a borrow
    assert lease_row(server, borrowed.id)["ended_at"] is None and borrowed.valid

    offline = app(server, tmp_path / "a", machine, clock)
    offline.transport.server_url = dead_url  # on the train
    clock.advance(days=2, hours=23)
    kept = offline.checkout(key, borrow_days=3)
    assert kept.valid and not kept.online and kept.id == borrowed.id and kept.state == "borrowed"
    clock.advance(hours=1, seconds=1)
    with pytest.raises(Offline):
        offline.checkout(key, borrow_days=3)
    clock.advance(days=-1)  # winding the clock back buys nothing either
    with pytest.raises(Offline):
        offline.checkout(key)


def test_a_borrow_returned_early_frees_the_seat(
    server: LiveServer, machine: FakeMachine, tmp_path: Path, floating: Callable[..., str], dead_url: str
) -> None:
    key = floating(seats=1, borrow_days=3)
    lic = app(server, tmp_path / "a", machine)
    lic.checkout(key, borrow_days=3).release()
    assert not (tmp_path / "a" / LEASE_FILE).exists()
    with app(server, tmp_path / "b", other_machine(tmp_path)).checkout(key) as other:
        assert other.valid
    lic.transport.server_url = dead_url
    with pytest.raises(Offline):  # nothing kept to work offline with
        lic.checkout(key, borrow_days=3)


def test_a_lease_document_copied_to_another_machine_or_edited_grants_nothing(
    server: LiveServer, machine: FakeMachine, tmp_path: Path, floating: Callable[..., str], dead_url: str
) -> None:
    key = floating(seats=1, borrow_days=3)
    lic = app(server, tmp_path / "a", machine)
    lic.checkout(key, borrow_days=3)
    # The whole data directory copied to another computer: the lease names the first one's hardware.
    shutil.copytree(tmp_path / "a", tmp_path / "copy")
    thief = app(server, tmp_path / "copy", other_machine(tmp_path))
    thief.transport.server_url = dead_url
    with pytest.raises(Offline):
        thief.checkout(key, borrow_days=3)
    # Edited on the same machine: a longer borrow, still "signed".
    stolen = app(server, tmp_path / "a", machine)
    stolen.transport.server_url = dead_url
    path = tmp_path / "a" / LEASE_FILE
    signed = json.loads(path.read_bytes())
    assert stolen.checkout(key).valid  # untouched, it works offline
    signed["document"]["expires_at"] = "2099-01-01T00:00:00Z"
    path.write_text(json.dumps(signed))
    with pytest.raises(Offline):
        stolen.checkout(key)
    path.write_text("{not json")
    with pytest.raises(Offline):
        stolen.checkout(key)


def test_a_typo_is_caught_before_any_network_call(server: LiveServer, machine: FakeMachine, tmp_path: Path) -> None:
    lic = app(server, tmp_path / "a", machine)
    lic.transport.server_url = "http://127.0.0.1:9"  # would fail if anything were sent
    with pytest.raises(InvalidKey):
        lic.checkout("ABCDE-FGHJK")
    assert not (tmp_path / "a").exists() or not (tmp_path / "a" / LEASE_FILE).exists()


def test_licentia_client_checkout_heartbeat_release(
    server: LiveServer, machine: FakeMachine, tmp_path: Path, floating: Callable[..., str], capsys: Any
) -> None:
    from licentia.client.cli import main

    key = floating(seats=1, borrow_days=2)
    base = ["--server", server.url, "--product", "my-app", "--public-key", server.public_key()]
    base += ["--data-dir", str(tmp_path / "a"), "--fingerprint-root", str(machine.root), "--json"]
    assert main([*base, "checkout", key]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["state"] == "active" and out["valid"] and out["lease"].startswith("ls_")
    assert main([*base, "heartbeat"]) == 0  # the lease kept in the data directory
    assert json.loads(capsys.readouterr().out)["lease"] == out["lease"]
    assert main([*base, "release"]) == 0
    assert json.loads(capsys.readouterr().out) == {"state": "released"}
    assert main([*base, "heartbeat", out["lease"]]) == 1
    assert "lease_expired" in capsys.readouterr().err
    assert main([*base, "release", "../check"]) == 2
    assert "not a lease id" in capsys.readouterr().err
    assert main([*base, "checkout", key, "--borrow-days", "2"]) == 0
    assert json.loads(capsys.readouterr().out)["borrowed"] is True
    assert main([*base, "release"]) == 0
    assert lease_row(server, out["lease"])["end_reason"] == "released"
