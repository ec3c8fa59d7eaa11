"""A wrong clock is not piracy: the SDK in a process whose clock is off (Debian's ``faketime``).

The server runs on the real time; the application's process runs hours or days
off it. Online checks work, and so do the offline checks after them, judged on
the server's time by the offset the last bound answer measured. A clock wound
back after a check is still caught.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import licentia
from tests.client.conftest import FakeMachine
from tests.conftest import LiveServer

pytestmark = pytest.mark.skipif(shutil.which("faketime") is None, reason="Debian's faketime is not installed")

DEAD = "http://127.0.0.1:9"  # nothing listens: the network is away
RUNNER = """
import json, sys
from licentia.client import Licentia
url, key, data, root, online = sys.argv[1:6]
lic = Licentia(url, "my-app", key, data, fingerprint_root=root, timeout=5)
s = lic.check(online=online == "online")
print(json.dumps({"allowed": s.allowed, "state": s.state, "reason": s.reason, "online": s.online,
                  "days_left": s.days_left}))
"""


def run_at(offset: str | None, url: str, server: LiveServer, data: Path, machine: FakeMachine) -> dict[str, Any]:
    """One ``check()`` in a process whose clock is off by ``offset`` (faketime's ``-5h``, ``+2d``; None: right)."""
    online = "offline" if url == DEAD else "online"
    src = str(Path(licentia.__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": src + os.pathsep + os.environ.get("PYTHONPATH", "")}
    cmd = [sys.executable, "-c", RUNNER, url, server.public_key(), str(data), str(machine.root), online]
    if offset is not None:
        cmd = ["faketime", "-f", offset, *cmd]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env, check=False)
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


@pytest.mark.parametrize("offset", ["-5h", "-2d", "+5h"])
def test_a_clock_constantly_off_works_online_and_offline(
    server: LiveServer, machine: FakeMachine, tmp_path: Path, offset: str
) -> None:
    data = tmp_path / "data"
    online = run_at(offset, server.url, server, data, machine)
    assert online["online"] and online["allowed"] and online["state"] == "trial"
    for _ in range(2):  # the second start reads the state the first offline one may have written
        offline = run_at(offset, DEAD, server, data, machine)
        assert not offline["online"]
        assert (offline["allowed"], offline["state"], offline["days_left"]) == (True, "trial", online["days_left"])


def test_a_clock_wound_back_after_a_check_is_still_caught(
    server: LiveServer, machine: FakeMachine, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    assert run_at("-5h", server.url, server, data, machine)["allowed"]
    assert run_at("-5h", DEAD, server, data, machine)["allowed"]
    rolled = run_at("-8h", DEAD, server, data, machine)
    assert (rolled["allowed"], rolled["reason"]) == (False, "clock_rollback")


def test_a_clock_put_right_after_running_ahead_is_let_in_by_its_next_online_check(
    server: LiveServer, machine: FakeMachine, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    assert run_at("+2d", server.url, server, data, machine)["allowed"]
    # Offline right after the clock was put right, the state says it was two days later: that
    # is what a clock wound back looks like, and the SDK cannot tell the two apart offline.
    assert run_at(None, DEAD, server, data, machine)["reason"] == "clock_rollback"
    assert run_at(None, server.url, server, data, machine)["online"]
    assert run_at(None, DEAD, server, data, machine)["allowed"]
