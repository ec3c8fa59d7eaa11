"""The event queue: durable, flushed in batches, exactly once on the server even after kill -9."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from licentia.client.events import EventQueue
from tests.client.conftest import FakeMachine, app, server_db
from tests.conftest import LiveServer

TOTAL = 3000

_FLUSHER = textwrap.dedent(
    """
    import sys, time
    from licentia.client import Licentia
    url, key, data_dir, root, total, batch = sys.argv[1:7]
    lic = Licentia(url, "my-app", key, data_dir, fingerprint_root=root)
    if lic.queue.count() == 0:
        now = lic.clock.now()
        lic.queue.add_many([("usage", now, {"n": i}) for i in range(int(total))])
    print("queued", flush=True)
    # Small batches first, so the kill lands mid-flush with most events still queued.
    lic.queue.flush(lic.transport, lic.credential(), deadline=time.monotonic() + 120, batch_size=int(batch))
    print("done", flush=True)
    """
)


def _stored(server: LiveServer, device: str) -> tuple[int, int]:
    conn = server_db(server)
    try:
        row = conn.execute(
            "SELECT count(*), count(DISTINCT client_event_id) FROM events WHERE device_id = ? AND kind = 'usage'",
            (device,),
        ).fetchone()
        return int(row[0]), int(row[1])
    finally:
        conn.close()


@pytest.mark.slow
def test_queue_survives_kill_9_mid_flush_and_server_has_each_event_once(
    server: LiveServer, machine: FakeMachine, tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    device = app(server, data_dir, machine).check().device or ""
    args = [sys.executable, "-c", _FLUSHER, server.url, server.public_key(), str(data_dir), str(machine.root)]
    child = subprocess.Popen([*args, str(TOTAL), "10"], stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None and child.stdout.readline().strip() == "queued"
    deadline = time.monotonic() + 60
    while _stored(server, device)[0] < 200 and time.monotonic() < deadline:
        time.sleep(0.05)
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    child.stdout.close()
    assert child.returncode == -signal.SIGKILL
    delivered_before, _ = _stored(server, device)
    queue = EventQueue(data_dir)
    left = queue.count()
    assert 0 < delivered_before < TOTAL and 0 < left < TOTAL
    assert delivered_before + left >= TOTAL  # nothing lost (a batch in flight may be both)

    again = subprocess.run([*args, "0", "200"], capture_output=True, text=True, timeout=120, check=False)
    assert again.returncode == 0, again.stderr
    assert queue.count() == 0
    assert _stored(server, device) == (TOTAL, TOTAL)


def test_flush_when_offline_keeps_events_and_respects_the_deadline(tmp_path: Path) -> None:
    from licentia.client.transport import Transport

    queue = EventQueue(tmp_path)
    queue.add("install", dt.datetime.now(dt.UTC), {"app_version": "1"})
    started = time.monotonic()
    result = queue.flush(Transport("http://127.0.0.1:9", timeout=0.5), ("dv_x", "s"), deadline=started + 0.8)
    assert time.monotonic() - started < 1.5
    assert result.sent == 0 and result.remaining == 1
    assert queue.pending()[0]["kind"] == "install"


def test_resending_acknowledged_ids_counts_duplicates(server: LiveServer, machine: FakeMachine, tmp_path: Path) -> None:
    lic = app(server, tmp_path / "data", machine)
    lic.check()
    lic.queue.add("usage", lic.clock.now(), {"n": 1})
    pending = lic.queue.pending()
    first = lic.flush()
    assert first.sent == 1 and first.duplicates == 0
    # A lost answer: the same ids go again; the server stores them once.
    answer = lic.transport.request("POST", "/v1/events", body={"events": pending}, credential=lic.credential())
    assert answer == {"accepted": 0, "duplicates": 1}
