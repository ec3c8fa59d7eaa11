"""Metrics that add up across workers, and JSON logs."""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx

from tests.conftest import LiveServer
from tests.server.helpers import fingerprint


def checks_counted(text: str) -> float:
    pattern = r'^licentia_checks_total\{action="check",outcome="ok"\} ([0-9.e+]+)$'
    return sum(float(m) for m in re.findall(pattern, text, re.M))


def test_metrics_sum_every_worker_and_logs_are_json(tmp_path: Path) -> None:
    token = "scrape-0123456789abcdef"
    env = {"LICENTIA_LOG_FORMAT": "json", "LICENTIA_METRICS_TOKEN": token}
    server = LiveServer(tmp_path / "server", workers=2, env=env).start()
    try:
        with httpx.Client(base_url=server.url, timeout=30) as http:
            for i in range(12):
                body = {
                    "product": "my-app",
                    "fingerprint": fingerprint("my-app", machine=f"m{i}", disk=f"d{i}", mac=f"n{i}"),
                }
                assert http.post("/v1/check", json=body).status_code == 200
            # Whichever worker answers /metrics, it reports the checks of both.
            for _ in range(6):
                scraped = http.get("/metrics", headers={"Authorization": f"Bearer {token}"})
                assert checks_counted(scraped.text) == 12
            assert http.get("/metrics").status_code == 401
    finally:
        server.stop()
    lines = [line for line in Path(server.log.name).read_text().splitlines() if line.startswith("{")]
    assert lines, "no JSON log lines"
    for line in lines:
        entry = json.loads(line)
        assert {"time", "level", "logger", "message"} <= entry.keys()
