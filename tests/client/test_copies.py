"""Copied installations, end to end: the SDK's real state copied to another machine."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
from pathlib import Path

from licentia.client import Licentia
from tests.client.conftest import FakeMachine, app, events_of, read_state, write_state
from tests.conftest import LiveServer


def test_state_copied_to_another_machine_is_caught_and_does_not_carry_the_license(
    server: LiveServer, tmp_path: Path
) -> None:
    original_machine = FakeMachine(tmp_path / "pc-a", disk="DISK-A")
    pirate_machine = FakeMachine(tmp_path / "pc-b", disk="DISK-B", mac="00:1b:21:3a:4f:5e")
    key = server.cli("license", "issue", "--product", "my-app", "--email", "buyer@example.com").stdout.strip()

    original = app(server, tmp_path / "data-a", original_machine)
    original.check()
    registered = original.activate(key)
    assert registered.state == "registered"

    # The whole data directory (credential, token, signed document) copied to another computer.
    shutil.copytree(tmp_path / "data-a", tmp_path / "data-b")
    copy = app(server, tmp_path / "data-b", pirate_machine)
    copied = copy.check()
    assert copied.device != registered.device
    assert copied.state == "trial" and copied.clone_suspected  # the seat did not travel with the files

    # The genuine installation keeps running, registered.
    again = original.check()
    assert again.device == registered.device and again.state == "registered"

    evidence = events_of(server, registered.device or "", "clone_suspected")
    assert evidence and json.loads(evidence[0][2])["reason"] == "state_copied"
    assert events_of(server, copied.device or "", "clone_suspected")

    # The license's evidence report names the copy.
    report = subprocess.run(
        [sys.executable, "-m", "licentia", "evidence", key, "--format", "json", "--data-dir", str(server.data_dir)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    kinds = [row["kind"] for row in json.loads(report.stdout)["document"]["events"]]
    assert "clone_suspected" in kinds and key not in report.stdout


def test_a_state_moved_to_other_hardware_is_denied_offline_whatever_its_fields_say(
    server: LiveServer, tmp_path: Path
) -> None:
    """The data dir moved whole to another computer at the same path (same host name, too)."""
    genuine = FakeMachine(tmp_path / "pc-a", disk="DISK-A")
    other = FakeMachine(tmp_path / "pc-b", disk="DISK-B", cpu="i5-1135G7")
    data = tmp_path / "data"
    original = app(server, data, genuine)
    assert original.check().allowed
    assert original.check(online=False).allowed

    dead = "http://127.0.0.1:9"
    moved = Licentia(dead, "my-app", server.public_key(), data, fingerprint_root=other.root)
    copied = moved.check()  # the server is out of reach: the stored document is all there is
    assert not copied.allowed and not copied.online and copied.reason == "invalid_document"
    # Whatever the state says about where it was taken (edited and resealed with its own secret).
    fields = read_state(data)
    fields["fingerprint"] = {"host": socket.gethostname(), "components": {}}
    write_state(data, fields)
    assert moved.check(online=False).reason == "invalid_document"
    # The genuine machine, same files, still runs.
    assert Licentia(dead, "my-app", server.public_key(), data, fingerprint_root=genuine.root).check().allowed
