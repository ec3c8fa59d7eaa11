"""HAProxy in front of the benchmark's hosts, as deploy/haproxy.cfg configures it, and its admin socket."""

from __future__ import annotations

import contextlib
import csv
import io
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import TYPE_CHECKING

from processes import ROOT, end, free_port, spawn

if TYPE_CHECKING:
    from cluster import Host

HOST_PORT = 8000
BACKEND = "hosts"  # the backend's name in deploy/haproxy.cfg


class Proxy:
    """HAProxy on loopback with deploy/haproxy.cfg's ``defaults`` and backend, the hosts as servers."""

    def __init__(self, workdir: Path, hosts: list[Host]) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.socket = workdir / "haproxy.sock"
        self.config = workdir / "haproxy.cfg"
        self.log = workdir / "haproxy.log"
        self.hosts = hosts
        self.proc: subprocess.Popen[bytes] | None = None

    def write_config(self) -> None:
        sections = _sections((ROOT / "deploy" / "haproxy.cfg").read_text())
        backend = [line for line in sections[f"backend {BACKEND}"] if not line.strip().startswith("server ")]
        servers = [f"    server {h.name} {h.address}:{HOST_PORT} check" for h in self.hosts]
        text = [
            "global",
            "    maxconn 2000",
            f"    stats socket {self.socket} mode 600 level admin",
            *sections["defaults"],
            "frontend licentia",
            f"    bind 127.0.0.1:{self.port}",
            f"    default_backend {BACKEND}",
            *backend,
            *servers,
        ]
        self.config.write_text("\n".join(text) + "\n")

    def start(self) -> None:
        self.write_config()
        self.proc = spawn(["haproxy", "-db", "-f", str(self.config)], self.log)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), timeout=1):
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)
        raise RuntimeError(f"haproxy did not start:\n{self.log.read_text()[-2000:]}")

    def admin(self, command: str) -> str:
        """One command on HAProxy's admin socket (what ``socat`` does in the runbook)."""
        with socket.socket(socket.AF_UNIX) as sock:
            sock.settimeout(10)
            sock.connect(str(self.socket))
            sock.sendall(command.encode() + b"\n")
            chunks = []
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        return b"".join(chunks).decode()

    def stats(self) -> dict[str, dict[str, str]]:
        """``show stat`` of the backend's servers, by name (status, scur for the sessions on it, ...)."""
        rows = csv.DictReader(io.StringIO(self.admin("show stat").lstrip("# ")))
        return {row["svname"]: row for row in rows if row["pxname"] == BACKEND and row["svname"] in self._names}

    @property
    def _names(self) -> set[str]:
        return {h.name for h in self.hosts}

    def set_state(self, host: Host, state: str) -> None:
        answer = self.admin(f"set server {BACKEND}/{host.name} state {state}").strip()
        if answer:
            raise RuntimeError(f"haproxy refused 'state {state}' for {host.name}: {answer}")

    def wait_status(self, host: Host, prefix: str, timeout: float = 60) -> None:
        """Wait until HAProxy's health checks put ``host`` in a status starting with ``prefix`` (UP, DOWN)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.stats()[host.name]["status"].startswith(prefix):
                return
            time.sleep(0.2)
        raise RuntimeError(f"haproxy never saw {host.name} {prefix}: {self.stats()[host.name]['status']}")

    def drain(self, host: Host, timeout: float = 60) -> None:
        """No new requests to ``host``; return once those in flight are answered."""
        self.set_state(host, "drain")
        deadline = time.monotonic() + timeout
        while int(self.stats()[host.name]["scur"] or 0) > 0 and time.monotonic() < deadline:
            time.sleep(0.05)

    def stop(self) -> None:
        end(self.proc, signal.SIGTERM, grace=10)


def _sections(config: str) -> dict[str, list[str]]:
    """HAProxy's config as its top-level sections (``defaults``, ``backend hosts``, ...), comments dropped."""
    sections: dict[str, list[str]] = {}
    current: list[str] = []
    for line in config.splitlines():
        if not line.strip() or line.strip().startswith("#"):
            continue
        if not line[0].isspace():
            current = sections.setdefault(line.strip(), [])
        current.append(line)
    return sections
