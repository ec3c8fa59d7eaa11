"""A purchase certificate is genuine, but it is no license file: the SDK grants nothing from one."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from licentia.client.cli import main
from tests.client.conftest import FakeMachine, app, read_state, write_state


def test_a_certificate_in_place_of_the_license_file_grants_nothing(server: Any, tmp_path: Path, capsys: Any) -> None:
    issued = server.cli("license", "issue", "--product", "my-app", "--email", "cert@b.c", "--name", "Cert Owner")
    assert issued.returncode == 0, issued.stderr
    key = issued.stdout.strip()
    machine = FakeMachine(tmp_path / "pc", disk="DISK-CERT")
    lic = app(server, tmp_path / "data", machine)
    assert lic.activate(key).allowed
    out = tmp_path / "certificate.json"
    made = server.cli("license", "certificate", key, "--output", str(out))
    assert made.returncode == 0, made.stderr
    assert out.stat().st_mode & 0o777 == 0o600 and key not in out.read_text()
    assert main(["verify", str(out), "--public-key", server.public_key()]) == 0
    assert "Cert Owner <cert@b.c>" in capsys.readouterr().out

    # The owner of the machine, who read the state's secret, swaps the certificate in and reseals.
    fields = read_state(tmp_path / "data")
    fields["signed"] = json.loads(out.read_bytes())
    write_state(tmp_path / "data", fields)
    status = lic.check(online=False)
    assert not status.allowed and status.reason == "invalid_document"
    assert main(["verify", str(out), "--public-key", server.public_key(), "--product", "other-app"]) == 1
