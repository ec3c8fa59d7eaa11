"""The sealed state, clock-rollback witnesses and what the SDK keeps (never the license key)."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

from licentia.client import Licentia
from licentia.client.events import QUEUE_FILE
from licentia.client.state import STATE_FILE
from licentia.core.clock import ManualClock, from_iso, to_iso
from tests.client.conftest import FakeMachine, app, read_state, write_state
from tests.client.test_activate import issue_key
from tests.conftest import LiveServer

DEAD = "http://127.0.0.1:9"


def _set_mtime(path: Path, when: dt.datetime) -> None:
    os.utime(path, (when.timestamp(), when.timestamp()))


def _three_days_offline(
    server: LiveServer, machine: FakeMachine, data: Path
) -> tuple[Licentia, ManualClock, dt.datetime]:
    """An installation checked online, then offline three days later (which seals the time it saw)."""
    clock = ManualClock()
    lic = app(server, data, machine, clock)
    lic.check()
    issued = from_iso(read_state(data)["signed"]["document"]["issued_at"])
    clock.advance(days=3)
    assert lic.check(online=False).allowed
    return lic, clock, issued


def test_editing_last_seen_no_longer_defeats_clock_rollback_detection(
    server: LiveServer, machine: FakeMachine, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    lic, clock, issued = _three_days_offline(server, machine, data)
    # The old attack: wind the clock back to the issue time and edit the time seen in the file.
    clock.set(issued + dt.timedelta(minutes=1))
    write_state(data, {**read_state(data), "last_seen": to_iso(issued)}, reseal=False)
    edited = lic.check(online=False)
    assert not edited.allowed and edited.reason == "corrupt_state"


def test_a_resealed_last_seen_is_still_caught_by_the_file_times(
    server: LiveServer, machine: FakeMachine, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    lic, clock, issued = _three_days_offline(server, machine, data)
    # What the file system recorded while the clock said three days later.
    for path in (data, data / QUEUE_FILE):
        _set_mtime(path, clock.now())
    # Someone who read the secret re-seals an earlier time and winds the clock back.
    clock.set(issued + dt.timedelta(minutes=1))
    write_state(data, {**read_state(data), "last_seen": to_iso(issued)})
    rolled = lic.check(online=False)
    assert not rolled.allowed and rolled.reason == "clock_rollback"
    # The documented limit: setting every file's time back as well (and re-sealing the file
    # system clock's offset the SDK measured) beats the witnesses.
    write_state(data, {**read_state(data), "last_seen": to_iso(issued), "file_clock_skew": 0})
    for path in (data, data / QUEUE_FILE, data / STATE_FILE):
        _set_mtime(path, issued)
    assert lic.check(online=False).allowed


def test_a_clock_once_far_ahead_and_put_right_is_not_locked_out(
    server: LiveServer, machine: FakeMachine, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    clock = ManualClock()
    lic = app(server, data, machine, clock)
    ahead = clock.now() + dt.timedelta(days=40)  # a dead CMOS battery, then NTP
    lic.check()
    _set_mtime(data / QUEUE_FILE, ahead)
    assert lic.check(online=False).reason == "clock_rollback"
    assert lic.check().online  # the server's time agrees with the clock: the witnesses are put right
    assert lic.check(online=False).allowed


def test_a_state_without_a_credential_keeps_only_the_users_opt_out(machine: FakeMachine, tmp_path: Path) -> None:
    from licentia.core.signing import SigningKey

    data = tmp_path / "data"
    lic = app_offline(data, machine, SigningKey.generate().export_public())
    lic.opt_out_of_facts()
    assert json.loads((data / STATE_FILE).read_bytes()) == {"format": 2, "facts_opt_out": True}
    assert lic.check().reason == "no_document"
    again = app_offline(data, machine, SigningKey.generate().export_public(), facts=True)
    assert again.facts() == {}  # the choice outlives the process


def test_the_license_key_is_never_stored(server: LiveServer, machine: FakeMachine, tmp_path: Path) -> None:
    key = issue_key(server)
    lic = app(server, tmp_path / "data", machine)
    assert lic.activate(key).state == "registered"
    lic.check()
    compact = key.replace("-", "")
    for path in (tmp_path / "data").rglob("*"):
        if path.is_file():
            raw = path.read_bytes()
            assert key.encode() not in raw and compact.encode() not in raw, path


def test_a_state_from_an_sdk_before_seals_keeps_its_credential_and_document(
    server: LiveServer, machine: FakeMachine, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    lic = app(server, data, machine)
    device = lic.check().device
    fields = read_state(data)
    old = {"format": 1, **fields, "last_seen": "2099-01-01T00:00:00Z", "fingerprint": {"host": "x", "signals": 5}}
    (data / STATE_FILE).write_text(json.dumps(old))
    offline = lic.check(online=False)
    assert offline.allowed and offline.device == device  # the signed document still verifies
    again = lic.check()
    assert again.device == device  # the credential was kept: the same installation
    assert json.loads((data / STATE_FILE).read_bytes())["format"] == 2
    assert read_state(data)["last_seen"] != "2099-01-01T00:00:00Z"  # nothing vouched for it


def app_offline(data: Path, machine: FakeMachine, public_key: str, *, facts: bool = False) -> Licentia:
    return Licentia(DEAD, "my-app", public_key, data, fingerprint_root=machine.root, timeout=0.5, facts=facts)


def test_unknown_fields_of_a_newer_server_such_as_machine_are_ignored(machine: FakeMachine, tmp_path: Path) -> None:
    from licentia.client.fingerprint import take_fingerprint
    from licentia.client.state import State, StateFile
    from licentia.core.signing import SigningKey

    key, data = SigningKey.generate(), tmp_path / "data"
    fp = take_fingerprint("my-app", data, machine.root)
    now = ManualClock().now()
    document = {
        "product": "my-app", "device": "dv_x", "components": dict(fp.components), "data_path": fp.data_path,
        "min_match": 2, "status": "registered", "features": ["pro"], "issued_at": to_iso(now),
        "lease_until": to_iso(now + dt.timedelta(days=7)), "grace_days": 7, "license": {"expires_at": None},
        "machine": "mc_0123456789", "a_field_of_a_later_server": {"nested": [1, "two"]},
    }  # fmt: skip
    signed = json.loads(key.sign(document))
    StateFile(data).save(State(signed=signed, credential=("dv_x", "secret"), last_seen=to_iso(now)))
    lic = Licentia(DEAD, "my-app", key.export_public(), data, fingerprint_root=machine.root)
    status = lic.check(online=False)
    assert status.allowed and status.state == "registered" and status.features == ("pro",)
