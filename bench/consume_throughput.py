"""Throughput of POST /v1/consume against POST /v1/check of the same server, in one run.

    python bench/consume_throughput.py            # SQLite, then PostgreSQL if it can start one

For each backend: start a real ``licentia serve``, make a license type with a
meter, issue licenses and activate machines on them, then drive with wrk,
alternating: the framework's no-op (``POST /v1/ping``, the ceiling of an
endpoint served through FastAPI, as consume is), the status check (distinct
unlicensed devices, as in bench/check_throughput.py; it has a lane of its own
before the framework), consumption spread over many licenses, and consumption
all on one license (every request updates the same usage row: the worst case
of the conditional count under contention). Prints requests/s, p50/p99 and the
ratios measured in this run. Targets: consume (spread)/no-op >= 0.5;
consume (one license)/consume (spread) >= 0.5; consume/check is shown.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from check_throughput import LUA_PING, LUA_REQUESTS, Server, each_backend, median_run, register, run_wrk

METER = {"renders": {"limit": 2**53 - 1, "period": "month"}}


def cli(workdir: Path, database_url: str | None, *args: str) -> str:
    cmd = [sys.executable, "-m", "licentia", *args, "--data-dir", str(workdir / "data")]
    if database_url:
        cmd += ["--database-url", database_url]
    return subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=300).stdout.strip()


async def activate(url: str, keys: list[str], machines: int) -> list[tuple[str, str]]:
    """``machines`` installations on each key; (consume body, authorization) for each."""
    sem = asyncio.Semaphore(16)
    out: list[tuple[str, str]] = []

    async def one(client: httpx.AsyncClient, key: str, i: int) -> None:
        comps = {name: os.urandom(32).hex() for name in ("machine", "disk", "cpu", "mac")}
        body = {"product": "my-app", "fingerprint": {"components": comps, "data_path": os.urandom(32).hex()}}
        async with sem:
            first = (await client.post("/v1/check", json=body)).json()
            auth = f"Device {first['credential']['device']}:{first['credential']['secret']}"
            answer = await client.post("/v1/activate", json={**body, "key": key}, headers={"Authorization": auth})
            answer.raise_for_status()
        token = answer.json()["signed"]["document"]["token"]
        out.append((json.dumps({"meter": "renders", "amount": 1, "token": token}), auth))

    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        await asyncio.gather(*(one(client, key, i) for key in keys for i in range(machines)))
    return out


def script(workdir: Path, name: str, rows: list[tuple[str, str]], path: str) -> str:
    data = workdir / f"{name}.tsv"
    data.write_text("".join(f"{auth}\t{body}\n" for body, auth in rows))
    return LUA_REQUESTS % {"data": data, "path": path, "delay": ""}


def bench_backend(name: str, database_url: str | None, args: argparse.Namespace) -> dict[str, dict[str, float]]:
    workdir = Path(tempfile.mkdtemp(prefix=f"licentia-bench-meters-{name}."))
    server = Server(workdir, database_url, args.workers)
    try:
        cli(workdir, database_url, "policy", "create", "my-app", "Metered", "--set", f"meters={json.dumps(METER)}",
            "--set", "max_devices=1000")  # fmt: skip
        issue = ["license", "issue", "--product", "my-app", "--policy", "Metered", "--email"]
        keys = [cli(workdir, database_url, *issue, f"b{i}@example.com") for i in range(args.licenses + 1)]
        spread = asyncio.run(activate(server.url, keys[1:], args.machines))
        hot = asyncio.run(activate(server.url, keys[:1], args.machines))
        checks = asyncio.run(register(server.url, "my-app", args.devices))
        scripts = {
            "no-op": (LUA_PING, "/v1/ping"),
            "check": (script(workdir, "check", checks, "/v1/check"), "/v1/check"),
            "consume (spread)": (script(workdir, "spread", spread, "/v1/consume"), "/v1/consume"),
            "consume (one license)": (script(workdir, "hot", hot, "/v1/consume"), "/v1/consume"),
        }
        runs: dict[str, list[dict[str, float]]] = {label: [] for label in scripts}
        for lua, path in scripts.values():
            run_wrk(server.url + path, lua, workdir, 2, args.connections)  # warm-up
        for _ in range(args.rounds):
            for label, (lua, path) in scripts.items():
                runs[label].append(run_wrk(server.url + path, lua, workdir, args.duration, args.connections))
        results = {label: median_run(found) for label, found in runs.items()}
        pairs = (
            ("consume/no-op", "consume (spread)", "no-op"),
            ("consume/check", "consume (spread)", "check"),
            ("one/spread", "consume (one license)", "consume (spread)"),
        )
        for label, top, bottom in pairs:
            ratios = sorted(t["rps"] / b["rps"] for t, b in zip(runs[top], runs[bottom], strict=True))
            results[label] = {"median": ratios[len(ratios) // 2], "low": ratios[0], "high": ratios[-1]}
        return results
    finally:
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--licenses", type=int, default=20, help="licenses consumed from in the spread case")
    parser.add_argument("--machines", type=int, default=10, help="machines activated on each license")
    parser.add_argument("--devices", type=int, default=2000, help="unlicensed devices for the check baseline")
    parser.add_argument("--duration", type=int, default=5, help="seconds per wrk run")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--backends", default="sqlite,postgresql")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        print("wrk is missing: apt-get install wrk", file=sys.stderr)
        return 2
    print(f"{args.licenses} licenses x {args.machines} machines, {args.connections} connections")
    print(f"medians of {args.rounds} alternating rounds of {args.duration} s runs")
    for name, results in each_backend(args, bench_backend):
        print(f"\n{name}")
        print(f"  {'endpoint':<24}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'errors':>8}")
        ratios = {label: results.pop(label) for label in ("consume/no-op", "consume/check", "one/spread")}
        for label, r in results.items():
            print(f"  {label:<24}{r['rps']:>10.0f}{r['p50']:>10.2f}{r['p99']:>10.2f}{r['errors']:>8}")
        for label, target in (("consume/no-op", 0.5), ("consume/check", None), ("one/spread", 0.5)):
            r = ratios[label]
            wanted = f"target >= {target}; " if target else ""
            print(f"  ratio {label}: {r['median']:.2f} ({wanted}range {r['low']:.2f}-{r['high']:.2f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
