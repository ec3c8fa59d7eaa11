"""check() end to end against a real server: trials, offline leases, tampering, identity."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from licentia.client import ConfigurationError, Licentia
from licentia.client.state import STATE_FILE
from licentia.core.clock import ManualClock, to_iso
from licentia.core.signing import SigningKey
from tests.client.conftest import FakeMachine, app, events_of, read_state, write_state
from tests.conftest import LiveServer


def test_first_run_is_a_trial_and_survives_the_server_going_away(
    live_server: LiveServer, machine: FakeMachine, clock: ManualClock, tmp_path: Path
) -> None:
    lic = app(live_server, tmp_path / "data", machine, clock)
    first = lic.check()
    assert first.allowed and first.state == "trial" and first.online and first.days_left == 30
    assert first.device and first.device.startswith("dv_")
    live_server.stop()

    started = time.monotonic()
    offline = lic.check()
    assert time.monotonic() - started < 1.5  # a dead server never holds up the app's start
    assert offline.allowed and not offline.online and offline.device == first.device

    clock.advance(days=6, hours=23)
    assert lic.check().state == "trial"  # the lease (7 days) still holds
    clock.advance(days=2)
    grace = lic.check()
    assert grace.allowed and grace.state == "grace" and grace.reason == "lease_expired"
    assert grace.days_left == 6
    clock.advance(days=6)
    ended = lic.check()
    assert not ended.allowed and ended.state == "lease_expired"


def test_trial_with_install_event_reported_once(server: LiveServer, machine: FakeMachine, tmp_path: Path) -> None:
    lic = app(server, tmp_path / "data", machine)
    device = lic.check().device
    lic.check()
    assert device
    installs = events_of(server, device, "install")
    assert len(installs) == 1
    assert lic.queue.count() == 0


def test_an_edited_state_is_no_state_and_a_resealed_edit_still_fails_the_signature(
    server: LiveServer, machine: FakeMachine, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    lic = app(server, data, machine)
    assert lic.check().allowed
    assert lic.check(online=False).allowed
    fields = read_state(data)
    fields["signed"]["document"]["grace_days"] = 9
    write_state(data, fields, reseal=False)
    edited = lic.check(online=False)
    assert not edited.allowed and edited.reason == "corrupt_state"
    # Someone who read the secret out of the file and re-made the seal: the signature still holds.
    write_state(data, fields, reseal=True)
    resealed = lic.check(online=False)
    assert not resealed.allowed and resealed.reason == "invalid_document"
    fresh = lic.check()  # online: the server's answer replaces the edited copy
    assert fresh.allowed and fresh.online
    assert lic.check(online=False).allowed


def test_corrupt_state_never_crashes_and_grants_nothing_offline(
    server: LiveServer, machine: FakeMachine, tmp_path: Path
) -> None:
    lic = app(server, tmp_path / "data", machine)
    device = lic.check().device
    (tmp_path / "data" / STATE_FILE).write_bytes(b"\x00{not json")
    assert lic.check(online=False).reason == "corrupt_state"
    again = lic.check()  # the same installation: its credential was kept outside the data folder too
    assert again.allowed and again.online and again.state == "trial" and again.device == device
    (tmp_path / "data" / STATE_FILE).write_bytes(b"\x00{not json")
    lic.escrow.forget()
    fresh = lic.check()  # a new installation on the same machine (sharing its trial), with a new credential
    assert fresh.allowed and fresh.online and fresh.state == "trial" and fresh.device != device


def test_document_signed_with_another_key_is_rejected(server: LiveServer, machine: FakeMachine, tmp_path: Path) -> None:
    lic = app(server, tmp_path / "data", machine)
    lic.check()
    fields = read_state(tmp_path / "data")
    forged_doc = {**fields["signed"]["document"], "status": "registered", "features": ["pro"]}
    intruder = SigningKey.generate()  # another product's key, or a key generator's
    fields["signed"] = json.loads(intruder.sign(forged_doc))
    write_state(tmp_path / "data", fields)  # sealed properly: only the signature can refuse it
    forged = lic.check(online=False)
    assert not forged.allowed and forged.reason == "invalid_document"


def test_another_products_genuine_document_is_rejected(
    server: LiveServer, machine: FakeMachine, tmp_path: Path
) -> None:
    made = server.cli("product", "create", "other-app", "--name", "Other")
    assert made.returncode == 0, made.stderr
    other_key = server.public_key("other-app")
    other = Licentia(server.url, "other-app", other_key, tmp_path / "other", fingerprint_root=machine.root)
    assert other.check().allowed
    # An app that pinned my-app's key but is fed other-app's answers trusts none of them.
    confused = Licentia(server.url, "my-app", other_key, tmp_path / "mine", fingerprint_root=machine.root)
    status = confused.check()
    assert not status.allowed and not status.online and status.reason == "no_document"
    lic = app(server, tmp_path / "mine2", machine)
    lic.check()
    fields = read_state(tmp_path / "mine2")
    fields["signed"] = read_state(tmp_path / "other")["signed"]
    write_state(tmp_path / "mine2", fields)
    assert lic.check(online=False).reason == "invalid_document"


def test_clock_moved_back_is_detected(server: LiveServer, machine: FakeMachine, tmp_path: Path) -> None:
    clock = ManualClock()
    lic = app(server, tmp_path / "data", machine, clock)
    lic.check()
    clock.advance(days=3)
    assert lic.check(online=False).allowed  # records the time it saw
    clock.advance(days=-2)
    rolled = lic.check(online=False)
    assert not rolled.allowed and rolled.reason == "clock_rollback"
    clock.advance(days=2)
    assert lic.check(online=False).allowed
    # Behind the document's own issue time: the document looks "from the future".
    fresh_clock = ManualClock()
    behind = app(server, tmp_path / "other", machine, fresh_clock)
    behind.check()
    fresh_clock.advance(hours=-1)
    behind_status = behind.check(online=False)
    assert not behind_status.allowed


def test_changed_hardware_seen_through_the_live_state_is_the_same_installation(
    server: LiveServer, machine: FakeMachine, tmp_path: Path
) -> None:
    # A disk of its own: the server is shared by this module's tests, and their machines' disks match.
    machine.write("sys/block/sda/device/serial", f"DISK-{tmp_path.name}")
    lic = app(server, tmp_path / "data", machine)
    device = lic.check().device
    assert lic.fingerprint().used == ("machine", "disk", "cpu")
    machine.write("sys/block/sda/device/serial", "NEW-DISK")
    same = lic.check()
    assert same.device == device and same.allowed
    assert lic.check(online=False).allowed  # the refreshed cache matches the updated document
    assert events_of(server, device or "", "hardware_changed")
    machine.write("etc/machine-id", "another-motherboard")  # a new motherboard and processor, the disk kept
    machine.set_cpu("i9-13900K")
    moved = lic.check()  # the current credential and token on new hardware: an upgrade, not a copy
    assert moved.device == device and moved.allowed and not moved.clone_suspected
    assert lic.check(online=False).allowed
    assert len(events_of(server, device or "", "hardware_changed")) == 2


def test_a_different_data_dir_is_a_different_installation(
    server: LiveServer, machine: FakeMachine, tmp_path: Path
) -> None:
    a = app(server, tmp_path / "a", machine).check().device
    b = app(server, tmp_path / "b", machine).check().device
    assert a and b and a != b
    assert app(server, tmp_path / "a", machine).check().device == a


def test_state_copied_to_another_folder_grants_nothing_offline(
    server: LiveServer, machine: FakeMachine, tmp_path: Path
) -> None:
    lic = app(server, tmp_path / "a", machine)
    lic.check()
    (tmp_path / "copy").mkdir()
    (tmp_path / "copy" / STATE_FILE).write_bytes((tmp_path / "a" / STATE_FILE).read_bytes())
    copy = Licentia(
        "http://127.0.0.1:9", "my-app", server.public_key(), tmp_path / "copy", fingerprint_root=machine.root
    )
    assert copy.check().reason == "invalid_document"


def test_bad_configuration_is_refused_at_once(server: LiveServer, tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError):
        Licentia(server.url, "my-app", "ed25519:nope:xyz", tmp_path)
    with pytest.raises(ConfigurationError):
        Licentia(server.url, "My App", server.public_key(), tmp_path)


def test_last_seen_is_not_rewritten_on_every_offline_check(
    server: LiveServer, machine: FakeMachine, tmp_path: Path
) -> None:
    clock = ManualClock()
    lic = app(server, tmp_path / "data", machine, clock)
    lic.check()
    before = (tmp_path / "data" / STATE_FILE).stat().st_mtime_ns
    clock.advance(minutes=1)
    lic.check(online=False)
    assert (tmp_path / "data" / STATE_FILE).stat().st_mtime_ns == before
    clock.advance(hours=1)
    lic.check(online=False)
    assert read_state(tmp_path / "data")["last_seen"] == to_iso(clock.now())


def test_a_genuine_answer_that_cannot_be_kept_is_used_and_said_unsaved(
    server: LiveServer, machine: FakeMachine, clock: ManualClock, tmp_path: Path
) -> None:
    """A data folder that cannot be written (here its name is taken by a file) never stops the
    application: the verified answer is used for this run and the status says so."""
    data_dir = tmp_path / "data"
    data_dir.write_text("not a folder")
    lic = app(server, data_dir, machine, clock)
    first = lic.check()
    assert first.allowed and first.online and first.unsaved
    assert data_dir.read_text() == "not a folder"  # nothing was written over it
    data_dir.unlink()
    kept = lic.check()
    assert kept.allowed and kept.online and not kept.unsaved
    assert not lic.check(online=False).unsaved  # offline statuses are never "unsaved"
