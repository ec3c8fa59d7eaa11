"""Throughput of POST /v1/check against a no-op endpoint of the same app, in one run.

    python bench/check_throughput.py            # SQLite, then PostgreSQL if it can start one

For each backend: start a real ``licentia serve``, register N distinct devices
(default 10,000), then drive with wrk (Debian's package): the no-op
``POST /v1/ping``, the check at full speed, and the check paced at half of the
measured peak. Each check carries a device credential and fingerprint, as the
SDK sends it (no token, so runs are repeatable; the server still rotates one).
A second baseline is a raw ASGI no-op (``bench/raw_asgi.py``) on the same server
stack (uvicorn, uvloop, httptools, one worker): the ceiling of any Python check.
Prints requests/s, p50/p99 and the check/no-op and check/raw ratios measured in
this run, and a PASS/FAIL line per target: check/no-op >= 0.6; check/raw >= 0.25
(SQLite) and >= 0.2 (PostgreSQL); at half the peak, p99 < 20 ms and no more than 3x
the p50. The paced run at half the peak is repeated ``--rounds`` times too, and its
figures are the medians of the rounds' p99, and of their p99/p50 (one 6-second
window holds one p99: a single moment of the shared machine decides it). Each
round also paces the raw no-op alike (the same connections and pauses) and
prints its p99/p50: the tail the load generator and the machine make on their own.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import httpx

ROOT = Path(__file__).resolve().parent.parent
T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Postgres:
    """A throwaway PostgreSQL server from Debian's packages (as user postgres when root)."""

    def __init__(self) -> None:
        bins = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
        if not bins:
            raise RuntimeError("PostgreSQL is not installed (apt-get install postgresql)")
        self.bin = bins[-1].parent
        self.dir = Path(tempfile.mkdtemp(prefix="licentia-bench-pg."))
        self.port = free_port()
        shutil.chown(self.dir, "postgres") if os.geteuid() == 0 else None
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *cmd: str) -> None:
        if os.geteuid() == 0:
            subprocess.run(
                ["su", "postgres", "-s", "/bin/sh", "-c", " ".join(f"'{c}'" for c in cmd)],
                check=True,
                capture_output=True,
            )
        else:
            subprocess.run(cmd, check=True, capture_output=True)

    def start(self) -> Postgres:
        self._run(str(self.bin / "initdb"), "-D", str(self.dir / "data"), "-U", "postgres", "-A", "trust")
        opts = f"-h 127.0.0.1 -p {self.port} -k {self.dir} -c max_connections=200"
        self._run(
            str(self.bin / "pg_ctl"),
            "-D",
            str(self.dir / "data"),
            "-l",
            str(self.dir / "log"),
            "-w",
            "-o",
            opts,
            "start",
        )
        return self

    def stop(self) -> None:
        try:
            self._run(str(self.bin / "pg_ctl"), "-D", str(self.dir / "data"), "-m", "fast", "stop")
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)


class Server:
    def __init__(self, workdir: Path, database_url: str | None, workers: int) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        cmd = [
            sys.executable,
            "-m",
            "licentia",
            "serve",
            "--data-dir",
            str(workdir / "data"),
            "--port",
            str(self.port),
            "--workers",
            str(workers),
        ]
        if database_url:
            cmd += ["--database-url", database_url]
        self.log = open(workdir / "server.log", "wb")  # noqa: SIM115
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
        raise RuntimeError("server did not start")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)
        self.log.close()


class RawServer(Server):
    """``bench/raw_asgi.py`` on uvicorn with the options ``licentia serve`` uses."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        cmd = [
            sys.executable,
            "-m",
            "uvicorn",
            "raw_asgi:app",
            "--app-dir",
            str(ROOT / "bench"),
            "--port",
            str(self.port),
            "--loop",
            "uvloop",
            "--http",
            "httptools",
            "--no-access-log",
            "--log-level",
            "warning",
        ]
        self.log = open(workdir / "raw.log", "wb")  # noqa: SIM115
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.post(self.url + "/", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError("the raw ASGI server did not start")


async def register(url: str, product: str, n: int) -> list[tuple[str, str]]:
    """First contact for n distinct devices; returns (body, authorization) for each."""
    rng = random.Random(7)
    sem = asyncio.Semaphore(32)
    out: list[tuple[str, str]] = []

    async def one(client: httpx.AsyncClient, i: int) -> None:
        comps = {name: f"{rng.getrandbits(256):064x}" for name in ("machine", "disk", "cpu", "mac")}
        body = {
            "product": product,
            "fingerprint": {"components": comps, "data_path": f"{rng.getrandbits(256):064x}"},
            "app_version": rng.choice(["1.0.0", "1.1.0", "1.2.0"]),
            "os": "Linux 6.1",
        }
        async with sem:
            for attempt in range(3):
                try:
                    response = await client.post("/v1/check", json=body)
                    break
                except httpx.TransportError:  # a pooled connection closed under us: the same call again
                    if attempt == 2:
                        raise
        response.raise_for_status()
        cred = json.loads(response.content)["credential"]
        # Every later check carries a nonce, as the clients send one (a fixed one per device: wrk replays the body).
        body["nonce"] = f"{rng.getrandbits(128):032x}"
        out.append((json.dumps(body), f"Device {cred['device']}:{cred['secret']}"))

    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        await asyncio.gather(*(one(client, i) for i in range(n)))
    return out


LUA_REQUESTS = """
local requests = {}
local n = 0
local i = 0
function init(args)
  local f = io.open("%(data)s")
  for line in f:lines() do
    local auth, body = line:match("^([^\\t]*)\\t(.*)$")
    n = n + 1
    requests[n] = wrk.format("POST", "%(path)s", {["Content-Type"]="application/json", ["Authorization"]=auth}, body)
  end
  f:close()
  i = math.random(n)
end
function request()
  i = i %% n + 1
  return requests[i]
end
%(delay)s
"""

LUA_PING = """
wrk.method = "POST"
wrk.body = "{}"
wrk.headers["Content-Type"] = "application/json"
"""

LATENCY = re.compile(r"^\s+(50|99)(?:\.000)?%\s+([\d.]+)(us|ms|s)\s*$", re.M)


def run_wrk(url: str, script: str, workdir: Path, seconds: int, connections: int) -> dict[str, float]:
    path = workdir / "script.lua"
    path.write_text(script)
    out = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(path), url],
        capture_output=True,
        text=True,
        check=True,
        timeout=seconds + 60,
    ).stdout
    found = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if found is None:
        raise RuntimeError(f"wrk printed no rate:\n{out}")
    rps = float(found.group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}
    lat = {m.group(1): float(m.group(2)) * scale[m.group(3)] for m in LATENCY.finditer(out)}
    return {
        "rps": rps,
        "p50": lat.get("50", float("nan")),
        "p99": lat.get("99", float("nan")),
        "errors": int(non2xx.group(1)) if non2xx else 0,
    }


def median_run(runs: list[dict[str, float]]) -> dict[str, float]:
    """The run with the median throughput (its latencies come with it)."""
    ordered = sorted(runs, key=lambda r: r["rps"])
    return ordered[len(ordered) // 2]


def tail_of(runs: list[dict[str, float]]) -> dict[str, float]:
    """The median p99 of the runs, and the median and range of their p99/p50."""
    tails = sorted(r["p99"] / r["p50"] for r in runs)
    return {
        "p99": sorted(r["p99"] for r in runs)[len(runs) // 2],
        "median": tails[len(tails) // 2],
        "low": tails[0],
        "high": tails[-1],
    }


def bench_backend(name: str, database_url: str | None, args: argparse.Namespace) -> dict[str, dict[str, float]]:
    workdir = Path(tempfile.mkdtemp(prefix=f"licentia-bench-{name}."))
    server = Server(workdir, database_url, args.workers)
    raw = RawServer(workdir)
    try:
        devices = asyncio.run(register(server.url, "my-app", args.devices))
        data = workdir / "devices.tsv"
        data.write_text("".join(f"{auth}\t{body}\n" for body, auth in devices))
        check_script = LUA_REQUESTS % {"data": data, "path": "/v1/check", "delay": ""}
        run_wrk(server.url + "/v1/check", check_script, workdir, 3, args.connections)  # warm-up
        # Alternate the two so that a noisy moment of the machine hits both alike.
        # Each check run is compared with the no-op run just before it (the
        # machine's speed drifts over a minute by more than the margins sought),
        # and the median of those ratios is the result.
        raw_runs, noop_runs, check_runs = [], [], []
        for _ in range(args.rounds):
            raw_runs.append(run_wrk(raw.url + "/", LUA_PING, workdir, args.duration, args.connections))
            noop_runs.append(run_wrk(server.url + "/v1/ping", LUA_PING, workdir, args.duration, args.connections))
            check_runs.append(run_wrk(server.url + "/v1/check", check_script, workdir, args.duration, args.connections))
        results = {
            "raw ASGI no-op": median_run(raw_runs),
            "no-op": median_run(noop_runs),
            "check": median_run(check_runs),
        }
        for label, base in (("ratios", noop_runs), ("raw ratios", raw_runs)):
            ratios = sorted(c["rps"] / n["rps"] for n, c in zip(base, check_runs, strict=True))
            results[label] = {"median": ratios[len(ratios) // 2], "low": ratios[0], "high": ratios[-1]}
        half = results["check"]["rps"] / 2
        interval_ms = max(1, round(args.connections * 1000 / half))
        paced = LUA_REQUESTS % {
            "data": data,
            "path": "/v1/check",
            "delay": f"function delay() return {interval_ms} end",
        }
        # The raw no-op paced alike (the same connections and pauses) shows the tail that
        # the load generator and the machine make with no work behind the answers.
        raw_paced = LUA_PING + f"function delay() return {interval_ms} end\n"
        half_runs, raw_half_runs = [], []
        for _ in range(args.rounds):
            half_runs.append(run_wrk(server.url + "/v1/check", paced, workdir, args.duration, args.connections))
            raw_half_runs.append(run_wrk(raw.url + "/", raw_paced, workdir, args.duration, args.connections))
        results["check @ half peak"] = median_run(half_runs)
        results["raw, paced alike"] = median_run(raw_half_runs)
        results["tail"] = tail_of(half_runs)
        results["raw tail"] = tail_of(raw_half_runs)
        return results
    finally:
        raw.stop()
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def each_backend(
    args: argparse.Namespace, bench: Callable[[str, str | None, argparse.Namespace], T], postgres_url: str | None = None
) -> Iterator[tuple[str, T]]:
    """``bench(name, database_url, args)`` on each of ``args.backends``, as (name, result).

    PostgreSQL is ``postgres_url``, else ``$LICENTIA_BENCH_POSTGRES_URL``, else a throwaway server
    started for the run and stopped after it (skipped, and said so, when it cannot start).
    """
    for name in args.backends.split(","):
        pg, url = None, None
        if name == "postgresql":
            url = postgres_url or os.environ.get("LICENTIA_BENCH_POSTGRES_URL")
            if not url:
                try:
                    pg = Postgres().start()
                except (RuntimeError, subprocess.CalledProcessError) as exc:
                    print(f"\npostgresql: skipped ({exc})")
                    continue
                url = pg.url
        try:
            result = bench(name, url, args)
        finally:
            if pg:
                pg.stop()
        yield name, result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--devices", type=int, default=10_000)
    parser.add_argument("--duration", type=int, default=6, help="seconds per wrk run")
    parser.add_argument("--rounds", type=int, default=5, help="alternating no-op/check pairs (medians reported)")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--backends", default="sqlite,postgresql")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        print("wrk is missing: apt-get install wrk", file=sys.stderr)
        return 2
    print(
        f"{args.devices} devices, {args.connections} connections, {args.workers} worker(s), "
        f"{args.rounds} alternating pairs of {args.duration} s runs, medians"
    )
    for name, results in each_backend(args, bench_backend):
        print(f"\n{name}")
        print(f"  {'endpoint':<20}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'errors':>8}")
        ratios, raw_ratios = results.pop("ratios"), results.pop("raw ratios")
        tail, raw_tail = results.pop("tail"), results.pop("raw tail")
        for label, r in results.items():
            print(f"  {label:<20}{r['rps']:>10.0f}{r['p50']:>10.2f}{r['p99']:>10.2f}{r['errors']:>8}")
        half = results["check @ half peak"]
        raw_target = 0.25 if name == "sqlite" else 0.2
        verdicts = [
            (
                ratios["median"] >= 0.6,
                f"check/no-op {ratios['median']:.2f} (target >= 0.6; median of {args.rounds} back-to-back pairs,"
                f" range {ratios['low']:.2f}-{ratios['high']:.2f})",
            ),
            (
                raw_ratios["median"] >= raw_target,
                f"check/raw ASGI no-op {raw_ratios['median']:.2f} (target >= {raw_target}; range"
                f" {raw_ratios['low']:.2f}-{raw_ratios['high']:.2f})",
            ),
            (
                tail["p99"] < 20,
                f"p99 at half peak ({half['rps']:.0f} req/s) {tail['p99']:.1f} ms (target < 20 ms; median of"
                f" {args.rounds} runs)",
            ),
            (
                tail["median"] <= 3,
                f"p99/p50 at half peak {tail['median']:.1f} (target <= 3; median of {args.rounds} runs,"
                f" range {tail['low']:.1f}-{tail['high']:.1f})",
            ),
        ]
        for met, line in verdicts:
            print(f"  {'PASS' if met else 'FAIL'} {name}: {line}")
        print(
            f"  INFO {name}: the raw ASGI no-op paced alike: p99/p50 {raw_tail['median']:.1f} (range"
            f" {raw_tail['low']:.1f}-{raw_tail['high']:.1f}), p99 {raw_tail['p99']:.1f} ms: the tail of the load"
            " generator and the machine, with no work behind the answers"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
