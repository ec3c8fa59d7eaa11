"""Floating leases: checkout/s and heartbeat/s beside the status check and a no-op, in one run.

    python bench/leases.py                      # SQLite, then PostgreSQL if it can start one
    python bench/leases.py --postgres-url postgresql://...   # PostgreSQL at that URL instead

For each backend: start a real ``licentia serve``, register N installations
(default 2,000) with the harness of ``bench/check_throughput.py``, give them
floating licenses of 20 seats each (N/20 licenses, so every installation gets
a seat), check each out once (its lease id), then drive with wrk, alternating
so that a noisy moment of the machine hits all alike: the no-op
``POST /v1/ping``, the status check, a checkout (by an installation that holds
its lease: the renewal path, the same lock, reclaim and count as a first
checkout, with an update instead of an insert) and a heartbeat. Prints
requests/s, p50/p99 of the median run of each, and the ratios to the no-op
measured back to back. Leases last an hour, so none expires during the run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import sys
import tempfile
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from check_throughput import LUA_PING, LUA_REQUESTS, Server, each_backend, median_run, register, run_wrk

SEATS_PER_LICENSE = 20
LEASE_SECONDS = 3600

# One heartbeat per line of the data file: each installation's credential and its lease's path.
LUA_HEARTBEATS = """
local requests = {}
local n = 0
local i = 0
function init(args)
  local f = io.open("%(data)s")
  for line in f:lines() do
    local auth, path = line:match("^([^\\t]*)\\t(.*)$")
    n = n + 1
    requests[n] = wrk.format("POST", path, {["Authorization"]=auth}, "")
  end
  f:close()
  i = math.random(n)
end
function request()
  i = i %% n + 1
  return requests[i]
end
"""


def issue_floating(database_url: str, count: int) -> list[str]:
    """A floating license type of the bootstrapped product and ``count`` licenses of it (their keys)."""
    from licentia.core.clock import SystemClock
    from licentia.server.licenses.service import issue_license
    from licentia.server.policies.schemas import PolicySpec
    from licentia.server.policies.service import create_policy
    from licentia.server.store.engine import database_urls, make_sync_engine

    engine = make_sync_engine(database_urls(database_url))
    knobs = {"kind": "floating", "max_devices": SEATS_PER_LICENSE, "floating_lease_seconds": LEASE_SECONDS}
    now = SystemClock().now()
    try:
        with engine.begin() as conn:
            spec = PolicySpec(knobs=knobs, name="Bench floating")
            create_policy(conn, spec, product="my-app", actor="bench", now=now)
            return [
                issue_license(conn, product="my-app", email=f"c{i}@example.com", now=now, policy="Bench floating").key
                for i in range(count)
            ]
    finally:
        engine.dispose()


async def first_checkouts(url: str, installations: list[tuple[str, str]]) -> list[str]:
    """Check every installation out once (``(auth, body)``); returns each one's heartbeat path."""
    sem = asyncio.Semaphore(32)

    async def one(client: httpx.AsyncClient, auth: str, body: str) -> str:
        async with sem:
            answer = await client.post(
                "/v1/leases", content=body, headers={"Authorization": auth, "Content-Type": "application/json"}
            )
        answer.raise_for_status()
        return f"/v1/leases/{answer.json()['lease']}/heartbeat"

    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        return list(await asyncio.gather(*(one(client, auth, body) for auth, body in installations)))


def bench_backend(name: str, database_url: str | None, args: argparse.Namespace) -> dict[str, dict[str, float]]:
    workdir = Path(tempfile.mkdtemp(prefix=f"licentia-bench-leases-{name}."))
    server = Server(workdir, database_url, args.workers)
    try:
        devices = asyncio.run(register(server.url, "my-app", args.devices))
        keys = issue_floating(database_url or f"sqlite:///{workdir / 'data' / 'licentia.db'}", len(devices) // 20 + 1)
        checkouts = [
            (auth, json.dumps({"product": "my-app", "key": keys[i // SEATS_PER_LICENSE]}))
            for i, (_body, auth) in enumerate(devices)
        ]
        paths = asyncio.run(first_checkouts(server.url, checkouts))
        files = {"check": workdir / "checks.tsv", "checkout": workdir / "checkouts.tsv", "beat": workdir / "beats.tsv"}
        files["check"].write_text("".join(f"{auth}\t{body}\n" for body, auth in devices))
        files["checkout"].write_text("".join(f"{auth}\t{body}\n" for auth, body in checkouts))
        files["beat"].write_text(
            "".join(f"{auth}\t{path}\n" for (auth, _b), path in zip(checkouts, paths, strict=True))
        )
        scripts = {
            "no-op": ("/v1/ping", LUA_PING),
            "check": ("/v1/check", LUA_REQUESTS % {"data": files["check"], "path": "/v1/check", "delay": ""}),
            "checkout": ("/v1/leases", LUA_REQUESTS % {"data": files["checkout"], "path": "/v1/leases", "delay": ""}),
            "heartbeat": ("/", LUA_HEARTBEATS % {"data": files["beat"]}),
        }
        for path, script in scripts.values():  # warm-up
            run_wrk(server.url + path, script, workdir, 2, args.connections)
        runs: dict[str, list[dict[str, float]]] = {label: [] for label in scripts}
        for _ in range(args.rounds):
            for label, (path, script) in scripts.items():
                runs[label].append(run_wrk(server.url + path, script, workdir, args.duration, args.connections))
        results = {label: median_run(each) for label, each in runs.items()}
        for label in ("check", "checkout", "heartbeat"):
            ratios = sorted(r["rps"] / n["rps"] for n, r in zip(runs["no-op"], runs[label], strict=True))
            results[f"{label}/no-op"] = {"median": ratios[len(ratios) // 2], "low": ratios[0], "high": ratios[-1]}
        return results
    finally:
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--devices", type=int, default=2_000)
    parser.add_argument("--duration", type=int, default=5, help="seconds per wrk run")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds (medians reported)")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--postgres-url", help="an existing PostgreSQL database instead of a throwaway server")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        print("wrk is missing: apt-get install wrk", file=sys.stderr)
        return 2
    print(
        f"{args.devices} installations on floating licenses of {SEATS_PER_LICENSE} seats, {args.connections} "
        f"connections, {args.workers} worker(s), {args.rounds} alternating rounds of {args.duration} s runs, medians"
    )
    for name, results in each_backend(args, bench_backend, args.postgres_url):
        print(f"\n{name}")
        print(f"  {'endpoint':<12}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'errors':>8}")
        for label in ("no-op", "check", "checkout", "heartbeat"):
            r = results[label]
            print(f"  {label:<12}{r['rps']:>10.0f}{r['p50']:>10.2f}{r['p99']:>10.2f}{r['errors']:>8}")
        for label in ("check", "checkout", "heartbeat"):
            ratio = results[f"{label}/no-op"]
            print(f"  {label}/no-op: {ratio['median']:.2f} (range {ratio['low']:.2f}-{ratio['high']:.2f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
