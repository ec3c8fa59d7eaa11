"""How long does a read-only ``licentia`` command take next to a bare Python start?

Run: ``python bench/cli_start.py [--runs N]``. Fills a throw-away data
directory with ``licentia demo`` (small) and one license, then starts whole
processes, interleaved round by round so the machine's drift touches every
command alike: ``python -c pass`` and each read-only command. Reports each
command's median wall time and its ratio to the median bare start.

Target (issue "Start fast"): every read-only command, and ``--help``, within
4x ``python -c pass``. They import only the standard library and the driver:
no FastAPI, no SQLAlchemy (see src/licentia/server/store/snapshot.py).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET = 4.0


def licentia_command() -> list[str]:
    """The installed console script, as a user runs it (``python -m licentia`` when it is absent)."""
    script = Path(sys.executable).with_name("licentia")
    return [str(script)] if script.exists() else [sys.executable, "-m", "licentia"]


def wall(command: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, check=True)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30, help="rounds of every command (default 30)")
    parser.add_argument("--devices", type=int, default=200, help="devices in the demo database (default 200)")
    options = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LICENTIA_")}
    licentia = licentia_command()
    workdir = Path(tempfile.mkdtemp(prefix="licentia-cli-start-"))
    try:
        data = ["--data-dir", str(workdir / "data")]
        subprocess.run([*licentia, "demo", "--devices", str(options.devices), "--days", "30", *data], env=env,
                       check=True, stdout=subprocess.DEVNULL)  # fmt: skip
        key = subprocess.run(
            [*licentia, "license", "issue", "--product", "my-app", "--email", "bench@example.com", *data],
            env=env, check=True, capture_output=True, text=True,
        ).stdout.strip()  # fmt: skip
        device = subprocess.run([*licentia, "device", "list", "--limit", "1", *data], env=env, check=True,
                                capture_output=True, text=True).stdout.split("\t")[0]  # fmt: skip
        commands = {
            "python -c pass": [sys.executable, "-c", "pass"],
            "licentia --help": [*licentia, "--help"],
            "licentia license list": [*licentia, "license", "list", *data],
            f"licentia license list --prefix {key[:5]}": [*licentia, "license", "list", "--prefix", key[:5], *data],
            "licentia device show ID": [*licentia, "device", "show", device, *data],
            "licentia device list": [*licentia, "device", "list", *data],
            "licentia product show my-app": [*licentia, "product", "show", "my-app", *data],
            "licentia product list": [*licentia, "product", "list", *data],
        }
        times: dict[str, list[float]] = {name: [] for name in commands}
        for command in commands.values():  # warm the file cache once
            wall(command, env)
        for _ in range(options.runs):
            for name, command in commands.items():
                times[name].append(wall(command, env))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    base = statistics.median(times["python -c pass"])
    print(f"{options.runs} rounds, {options.devices} demo devices; medians of whole processes\n")
    print(f"{'command':<44} {'median':>9} {'ratio':>6}")
    worst = 0.0
    for name, runs in times.items():
        median = statistics.median(runs)
        ratio = median / base
        if name != "python -c pass":
            worst = max(worst, ratio)
        print(f"{name:<44} {median * 1000:>7.1f} ms {ratio:>5.2f}x")
    verdict = "met" if worst <= TARGET else "NOT met"
    print(f"\nworst read-only command: {worst:.2f}x python -c pass (target <= {TARGET:.0f}x): {verdict}")
    return 0 if worst <= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
