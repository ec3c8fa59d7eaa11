"""The test suite's own server processes never outlive the test that started them."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.processes import LiveServer, end_group, live_members


def test_a_start_that_times_out_leaves_no_process(tmp_path):
    server = LiveServer(tmp_path / "server", workers=2)
    with pytest.raises(RuntimeError, match="not ready in 0 s"):
        server.start(timeout=0.01)
    assert server.proc is not None and server.proc.returncode is not None
    assert not live_members(server.proc.pid)


@pytest.mark.slow
def test_workers_of_a_server_whose_supervisor_was_killed_are_reaped(tmp_path):
    server = LiveServer(tmp_path / "server", workers=2).start()
    assert server.proc is not None
    workers = [int(pid) for pid in re.findall(r"Started server process \[(\d+)\]", server.log_text())]
    assert len(workers) == 2
    os.kill(server.proc.pid, signal.SIGKILL)  # uvicorn's supervisor gets no chance to stop its workers
    server.proc.wait()
    assert set(workers) <= set(live_members(server.proc.pid))  # the workers live on, orphaned
    server.stop()
    assert not live_members(server.proc.pid)


@pytest.mark.slow
def test_a_server_ends_when_the_test_run_is_killed(tmp_path):
    run = f"""
import pathlib, sys
sys.path.insert(0, {str(Path(__file__).parents[1])!r})
from tests.processes import LiveServer
server = LiveServer(pathlib.Path({str(tmp_path / "server")!r})).start()
print(server.proc.pid, flush=True)
sys.stdin.read()
"""
    cmd = [sys.executable, "-c", run]
    with subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True) as test_run:
        try:
            assert test_run.stdout is not None
            server_pid = int(test_run.stdout.readline())
            assert live_members(server_pid)
            test_run.kill()  # no fixture teardown, no session finish: only the kernel is left to tell the server
            test_run.wait()
            deadline = time.monotonic() + 60
            while live_members(server_pid) and time.monotonic() < deadline:
                time.sleep(0.1)
            assert not live_members(server_pid)
        finally:
            end_group(test_run, grace=0)
