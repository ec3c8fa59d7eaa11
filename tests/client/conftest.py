"""Client fixtures: one real server per test module, and fake machines (sysfs/procfs trees)."""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from licentia.client import Licentia
from licentia.client.state import STATE_FILE
from licentia.core.clock import ManualClock
from tests.conftest import LiveServer
from tests.processes import InProcessServer


@pytest.fixture(autouse=True)
def user_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The user's configuration directory (the credential escrow's file), one per test, never the real one."""
    home = tmp_path / "user-config"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home))
    return home


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The real server, shared by the tests of one module, reached over HTTP on a loopback port.

    It runs on a thread of the test process (tests/processes.py): these tests are about
    the SDK, and a process start costs seconds on a loaded machine. ``live_server`` is a
    separate ``licentia serve`` process, for tests that stop the server under the SDK.
    """
    live = InProcessServer(tmp_path_factory.mktemp("srv") / "server").start()
    yield live
    live.stop()


class FakeMachine:
    """A fake filesystem root with the files the Linux readers look at."""

    def __init__(self, root: Path, *, machine: str | None = None, disk: str = "S3Z9NB0K", cpu: str = "i7-8650U",
                 mac: str | None = None) -> None:  # fmt: skip
        self.root = root
        self.write("etc/machine-id", machine or uuid.uuid4().hex)
        self.write("proc/self/mountinfo", "29 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n")
        (root / "sys/block/sda/sda1").mkdir(parents=True, exist_ok=True)
        self.write("sys/block/sda/device/serial", disk)
        self.set_cpu(cpu)
        # Interfaces the reader must skip: no device, a veth, docker, a locally administered address.
        self.nic("lo", "00:00:00:00:00:00", device=False)
        self.nic("docker0", "02:42:ac:11:00:02", device=False)
        self.nic("veth12ab", "5e:11:22:33:44:55", device=False)
        self.nic("enp0s31f6", "0a:00:27:00:00:01")  # locally administered bit set
        if mac:
            self.nic("eth0", mac)

    def write(self, rel: str, text: str) -> None:
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text + "\n")

    def set_cpu(self, model: str, flags: str = "fpu vme sse2") -> None:
        self.write(
            "proc/cpuinfo",
            f"processor\t: 0\nvendor_id\t: GenuineIntel\ncpu family\t: 6\nmodel\t\t: 142\n"
            f"model name\t: Intel(R) Core(TM) {model}\nstepping\t: 10\nflags\t\t: {flags}\n\n"
            "processor\t: 1\nvendor_id\t: OtherVendor\n",
        )

    def nic(self, name: str, mac: str, *, device: bool = True) -> None:
        self.write(f"sys/class/net/{name}/address", mac)
        self.write(f"sys/class/net/{name}/addr_assign_type", "0")
        if device:
            (self.root / f"sys/class/net/{name}/device").mkdir(exist_ok=True)


@pytest.fixture
def machine(tmp_path: Path) -> FakeMachine:
    return FakeMachine(tmp_path / "machine")


@pytest.fixture
def clock() -> ManualClock:
    # The server runs on real time; the SDK's clock starts there and moves only when told.
    return ManualClock()


def app(server: LiveServer, data_dir: Path, machine: FakeMachine, clock: ManualClock | None = None,
        **kw: Any) -> Licentia:  # fmt: skip
    return Licentia(
        server.url, "my-app", server.public_key(), data_dir, fingerprint_root=machine.root, clock=clock, **kw
    )


def server_db(server: LiveServer) -> sqlite3.Connection:
    return sqlite3.connect(server.data_dir / "licentia.db", timeout=30)


def events_of(server: LiveServer, device: str, kind: str | None = None) -> list[tuple[str, str, str]]:
    """(kind, client_event_id, data) of a device's events as the server stored them."""
    conn = server_db(server)
    try:
        sql = "SELECT kind, client_event_id, data FROM events WHERE device_id = ?"
        args: tuple[str, ...] = (device,)
        if kind:
            sql += " AND kind = ?"
            args += (kind,)
        return [tuple(r) for r in conn.execute(sql, args).fetchall()]
    finally:
        conn.close()


def read_state(data_dir: Path) -> dict[str, Any]:
    """The fields of a sealed ``state.json`` (what an attacker reading the file sees)."""
    outer = json.loads((data_dir / STATE_FILE).read_bytes())
    return {**json.loads(outer["state"]), "credential": [outer["device"], outer["secret"]]}


def write_state(data_dir: Path, fields: dict[str, Any], *, reseal: bool = True) -> None:
    """Write edited fields back; ``reseal`` plays the attacker who read the secret and re-made the MAC."""
    from licentia.client.state import state_mac

    outer = json.loads((data_dir / STATE_FILE).read_bytes())
    body = {k: v for k, v in fields.items() if k != "credential"}
    outer["state"] = json.dumps(body, separators=(",", ":"))
    if reseal:
        outer["mac"] = state_mac(outer["device"], outer["secret"], outer["state"].encode())
    (data_dir / STATE_FILE).write_text(json.dumps(outer))
