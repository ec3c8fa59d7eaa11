"""``licentia serve --workers 3`` on a busy machine: each worker starts once, and all answer.

On a loaded host a worker takes seconds of wall time to import the server; a
supervisor that gives up on it too early kills it and starts another, which is
just as slow: the server never settles. The server here runs at a low priority
beside processes spinning on every core, so it gets a small share of the CPU,
like on a host with a load average well above its core count.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import time

import httpx
import pytest

from tests.conftest import BusyCpu, LiveServer
from tests.server.helpers import fingerprint

WORKERS = 3


@pytest.mark.slow
def test_three_workers_start_once_and_answer_on_a_busy_machine(tmp_path, database_url):
    server = LiveServer(tmp_path / "server", database_url=database_url, workers=WORKERS, niceness=10)
    with BusyCpu(seconds=240):
        server.start()  # every worker has logged that its startup is complete
        try:
            with httpx.Client(base_url=server.url, timeout=60) as http:
                # Keep the workers busy while the supervisor's health checks run under load.
                until = time.monotonic() + 5
                n = 0
                while time.monotonic() < until or n < 12:
                    body = {"product": "my-app", "fingerprint": fingerprint("my-app", machine=f"m{n}", disk=f"d{n}")}
                    assert http.post("/v1/check", json=body).status_code == 200
                    assert http.post("/v1/ping").json() == {"ok": True}
                    n += 1
        finally:
            server.stop()
    log = server.log_text()
    assert len(set(worker_pids(server))) == WORKERS, log[-4000:]  # a restarted worker logs a new pid
    assert "died" not in log and "not ready in time" not in log, log[-4000:]


def worker_pids(server: LiveServer) -> list[int]:
    return [int(pid) for pid in re.findall(r"Started server process \[(\d+)\]", server.log_text())]


@pytest.mark.slow
def test_a_worker_that_gets_no_cpu_for_eight_seconds_is_not_replaced(tmp_path):
    """A worker stopped for 8 s (what a starved process lives through) keeps serving afterwards."""
    server = LiveServer(tmp_path / "server", workers=WORKERS).start()
    try:
        first = worker_pids(server)
        assert len(first) == WORKERS
        os.kill(first[0], signal.SIGSTOP)
        try:
            time.sleep(8)  # longer than the 5 s after which uvicorn, left to itself, replaces a worker
        finally:
            with contextlib.suppress(ProcessLookupError):  # gone if the supervisor replaced it
                os.kill(first[0], signal.SIGCONT)
        with httpx.Client(base_url=server.url, timeout=60) as http:
            for _ in range(WORKERS * 4):
                assert http.post("/v1/ping").json() == {"ok": True}
        time.sleep(1)  # the supervisor checks its workers twice a second
        assert worker_pids(server) == first, server.log_tail()
    finally:
        server.stop()
    assert "died" not in server.log_text()
