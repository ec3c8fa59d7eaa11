"""``licentia-client`` as a real process: exit codes, --json, one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.client.conftest import FakeMachine
from tests.client.test_activate import issue_key
from tests.conftest import LiveServer


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "licentia.client", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, **(env or {})},
    )


def _config(server: LiveServer, data_dir: Path, machine: FakeMachine) -> list[str]:
    key_file = data_dir.parent / "my-app.pub"
    key_file.write_text(server.public_key() + "\n")
    return ["--server", server.url, "--product", "my-app", "--public-key", f"@{key_file}",
            "--data-dir", str(data_dir), "--fingerprint-root", str(machine.root)]  # fmt: skip


def test_check_activate_and_json(server: LiveServer, machine: FakeMachine, tmp_path: Path) -> None:
    opts = _config(server, tmp_path / "data", machine)
    first = cli("check", *opts)
    assert first.returncode == 0 and first.stdout.startswith("allowed: trial, 30 days left"), first
    as_json = cli("check", "--json", *opts)
    status = json.loads(as_json.stdout)
    assert status["allowed"] is True and status["state"] == "trial" and status["online"] is True

    typo = cli("activate", "AAAAA-AAAAA-AAAAA-AAAAA-AAAAB", *opts)
    assert typo.returncode == 1 and typo.stderr.count("\n") == 1 and "typo" in typo.stderr
    assert "Traceback" not in typo.stderr
    activated = cli("activate", issue_key(server), "--json", *opts)
    assert activated.returncode == 0 and json.loads(activated.stdout)["state"] == "registered"
    fp = json.loads(cli("fingerprint", "--json", *opts).stdout)
    assert fp["used"] == ["machine", "disk", "cpu"] and len(fp["data_path"]) == 64
    assert cli("feedback", "great app", *opts).returncode == 0
    assert cli("flush", *opts).returncode == 0
    uninstall = cli("uninstall", "--json", *opts)
    assert uninstall.returncode == 0 and json.loads(uninstall.stdout)["remaining"] == 0
    assert cli("deactivate", *opts).returncode == 0


def test_denied_offline_and_configuration_errors(server: LiveServer, machine: FakeMachine, tmp_path: Path) -> None:
    opts = _config(server, tmp_path / "data", machine)
    nothing = cli("check", "--offline", *opts)
    assert nothing.returncode == 1 and nothing.stdout.startswith("denied: unknown")
    env = {"LICENTIA_SERVER": "http://127.0.0.1:9", "LICENTIA_PRODUCT": "my-app",
           "LICENTIA_PUBLIC_KEY": server.public_key(), "LICENTIA_CLIENT_DATA_DIR": str(tmp_path / "env")}  # fmt: skip
    offline = cli("check", "--json", env=env)
    assert offline.returncode == 1 and json.loads(offline.stdout)["reason"] == "no_document"
    missing = cli("check", env={"LICENTIA_SERVER": ""})
    assert missing.returncode == 2 and missing.stderr.startswith("licentia-client: configuration error: missing")
    bad_key = cli("check", "--server", server.url, "--product", "my-app", "--public-key", "nope")
    assert bad_key.returncode == 2 and bad_key.stderr.count("\n") == 1
    no_file = cli("check", "--server", server.url, "--product", "my-app", "--public-key", "@/nonexistent")
    assert no_file.returncode == 2 and "Traceback" not in no_file.stderr
    usage = cli("frobnicate")
    assert usage.returncode == 2 and usage.stderr.count("\n") == 1
