"""The several-host benchmarks (bench/failover.py, bench/rolling_upgrade.py), run reduced as tests.

Each runs as its own process, as a person would run it: it makes its network namespaces, bridge,
PostgreSQL and HAProxy, and removes them when it ends, also when stopped (SIGTERM) or past its
own time limit. Without root (CAP_NET_ADMIN) it cannot make namespaces: the test is skipped and
says why. CI runs as root with haproxy and iproute2 installed (.ci/run).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.processes import end_group

ROOT = Path(__file__).resolve().parents[2]
UNAVAILABLE = 2  # the benchmarks' exit status when this machine cannot run them


@pytest.fixture
def run_bench(tmp_path: Path) -> Callable[..., tuple[dict[str, Any], str]]:
    def run(script: str, *args: str, timeout: float = 900) -> tuple[dict[str, Any], str]:
        figures = tmp_path / "figures.json"
        cmd = [sys.executable, str(ROOT / "bench" / script), *args, "--json", str(figures)]
        proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True, cwd=ROOT,
        )  # fmt: skip
        try:
            output = proc.communicate(timeout=timeout)[0].decode(errors="replace")
        finally:
            end_group(proc, grace=120)  # SIGTERM: the benchmark removes what it made, then ends
        if proc.returncode == UNAVAILABLE and "cannot run here" in output:
            pytest.skip(output.strip().splitlines()[-1])
        assert proc.returncode == 0, output
        print(output)
        return json.loads(figures.read_text()), output

    return run
