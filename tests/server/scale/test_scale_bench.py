"""bench/scale.py at its reduced size against the test PostgreSQL: the bench runs end to end.

The bench fills 100,000 installations and 1,000,000 events with COPY, serves
checks with real ``licentia serve`` processes driven by wrk, and measures
(bench/scale.py). This test holds the bench working: every stage runs, every
check is answered, every figure is reported. The figures themselves are
judged by the bench (it prints PASS or FAIL against its bounds), never here:
performance targets live in benchmarks, not in timed tests, because a p99 on
a shared machine moves with the neighbours' load.
``LICENTIA_SKIP_SCALE=1`` skips it locally; CI runs it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.databases import PG_URL
from tests.processes import end_group

ROOT = Path(__file__).resolve().parents[3]

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.slow,
    pytest.mark.skipif(not PG_URL, reason="LICENTIA_TEST_POSTGRES_URL not set"),
    pytest.mark.skipif(bool(os.environ.get("LICENTIA_SKIP_SCALE")), reason="LICENTIA_SKIP_SCALE is set"),
    pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is missing (apt-get install wrk)"),
]


def test_the_scale_bench_runs_every_stage_at_the_reduced_size(tmp_path: Path) -> None:
    out = tmp_path / "figures.json"
    cmd = [sys.executable, str(ROOT / "bench" / "scale.py"), "--database-url", str(PG_URL), "--json", str(out)]
    # Its own process group: on a time-out or a failure, its servers and wrk go with it.
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True
    )
    try:
        output = proc.communicate(timeout=900)[0].decode(errors="replace")
    finally:
        end_group(proc, grace=60)  # SIGTERM: the bench drops its databases, then ends
    assert out.exists(), output
    figures = json.loads(out.read_text())
    print(output)  # the figures, in the test log
    assert figures["events"] >= 1_000_000 and figures["event_partitions"] >= 13
    assert figures["errors"] == 0
    assert figures["p99_ratio"] > 0 and figures["dashboard_s"] > 0 and figures["evidence_s"] > 0
    assert figures["evidence_rows"] > 0 and figures["evidence_license_events"] >= 100_000
    assert figures["ingest_service_per_s"] > 0 and figures["events_mb_per_million"] > 0
