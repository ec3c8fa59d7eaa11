"""The test suite's own server processes never outlive the test that started them."""

from __future__ import annotations

import os
import re
import signal

import pytest

from tests.processes import LiveServer, live_members


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
