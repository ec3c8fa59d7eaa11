"""Kill a host with ``kill -9`` under load behind HAProxy, restart it, and count what the clients saw.

    sudo python bench/failover.py                      # about a minute and a half
    sudo python bench/failover.py --seconds 24 --throughput-seconds 3 --json out.json   # tests/deploy

Three hosts, each ``licentia serve`` in its own network namespace, share one PostgreSQL behind
HAProxy configured as deploy/haproxy.cfg (bench/cluster.py). Through HAProxy only:

* throughput: a load generator sends checks for a few seconds with the three hosts in the pool,
  then with one (the other two in maintenance on HAProxy's admin socket);
* failover: SDK clients (``licentia.client``, each its own machine and data directory) check and
  send events in a loop, and a load generator without retries sends checks and event batches;
  a few seconds in, one host is killed with ``kill -9`` (every process of it) at the moment
  machines race to activate a license with fewer seats than machines; later it is restarted.

Afterwards every SDK client flushes its queue and PostgreSQL is asked what it holds. Printed:
acknowledged events lost (answered 2xx, not in the database: must be 0), seats over-allocated
(machines holding a license beyond its seats: must be 0), the failures the SDK met and how its
retries absorbed them, what the generator without retries saw, and checks/s with three hosts
against one. Every phase ends by itself (time and count bounded); traffic goes to loopback only.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import random
import sys
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from cluster import Cluster, main_of

from licentia.client import Licentia, LicentiaError

PRODUCT = "my-app"
SDK_TIMEOUT = 15.0  # generous: the machine is shared, and a slow answer is not what is measured here


@dataclass
class Figures:
    hosts: int = 0
    seconds: float = 0.0
    killed_at: float = 0.0
    restarted_at: float = 0.0
    ready_again_at: float = 0.0
    sdk_clients: int = 0
    sdk_checks: int = 0
    sdk_checks_failed: int = 0  # fell back to the stored document: the application saw the outage
    sdk_checks_copy_suspected: int = 0
    sdk_retries: int = 0  # requests the SDK sent again after a reset or a 502/503/504
    sdk_calls_failed: int = 0  # calls (checks, flushes, activations) that failed after their retries
    events_acknowledged: int = 0
    events_lost: int = 0
    seats: int = 0
    racers: int = 0
    seats_granted: int = 0
    seats_over_allocated: int = 0
    load_requests: int = 0
    load_errors: dict[str, int] = field(default_factory=dict)
    throughput_three: float = 0.0
    throughput_one: float = 0.0


def fake_machine(root: Path) -> Path:
    """A filesystem root whose hardware readers see a distinct machine (the SDK's ``fingerprint_root``)."""
    files = {
        "etc/machine-id": uuid.uuid4().hex,
        "proc/self/mountinfo": "29 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw",
        "sys/block/sda/device/serial": uuid.uuid4().hex[:12].upper(),
        "proc/cpuinfo": "processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Intel(R) Core(TM) i7\nflags\t\t: fpu",
        "sys/class/net/eth0/address": ":".join(f"{b:02x}" for b in [0x00, 0x1B, *random.randbytes(4)]),
        "sys/class/net/eth0/addr_assign_type": "0",
    }
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text + "\n")
    (root / "sys/block/sda/sda1").mkdir(parents=True, exist_ok=True)
    (root / "sys/class/net/eth0/device").mkdir(exist_ok=True)
    return root


def sdk_client(url: str, public_key: str, workdir: Path, name: str) -> Licentia:
    machine = fake_machine(workdir / name / "machine")
    return Licentia(url, PRODUCT, public_key, workdir / name / "data", fingerprint_root=machine, timeout=SDK_TIMEOUT)


class SdkLoop(threading.Thread):
    """One application: check, queue a few events, flush; again until told to stop (or ``limit`` rounds)."""

    def __init__(self, lic: Licentia, stop: threading.Event, limit: int = 2000) -> None:
        super().__init__(daemon=True)
        self.lic, self.stop, self.limit = lic, stop, limit
        self.checks = self.failed = self.copies = self.calls_failed = 0
        self.queued: list[str] = []

    def run(self) -> None:
        for _ in range(self.limit):
            if self.stop.is_set():
                return
            status = self.lic.check()
            self.checks += 1
            self.failed += not status.online
            self.copies += status.clone_suspected
            now = dt.datetime.now(dt.UTC)
            self.queued += [self.lic.queue.add("usage", now, {"n": i}) for i in range(3)]
            if self.lic.flush().remaining:
                self.calls_failed += 1
            time.sleep(random.uniform(0.05, 0.15))


def acknowledged(loops: list[SdkLoop]) -> list[str]:
    """Event ids the server acknowledged: queued, and no longer on disk (deleted only after a 2xx)."""
    ids: list[str] = []
    for loop in loops:
        pending = {event["id"] for event in loop.lic.queue.pending(limit=1_000_000)}
        ids += [event_id for event_id in loop.queued if event_id not in pending]
    return ids


class LoadGenerator:
    """Checks and event batches straight over HTTP, no retries: what a client without them would see."""

    def __init__(self, url: str, concurrency: int, events: bool) -> None:
        self.url, self.concurrency, self.events = url, concurrency, events
        self.stop = False  # set to end before the time given
        self.requests = 0
        self.ok = 0
        self.errors: Counter[str] = Counter()
        self.acknowledged: list[str] = []
        self.devices: list[tuple[dict[str, Any], str]] = []

    async def register(self, http: httpx.AsyncClient) -> None:
        for _ in range(self.concurrency):
            comps = {name: uuid.uuid4().hex * 2 for name in ("machine", "disk", "cpu", "mac")}
            body = {"product": PRODUCT, "fingerprint": {"components": comps, "data_path": uuid.uuid4().hex * 2}}
            answer = (await http.post("/v1/check", json=body)).raise_for_status().json()
            self.devices.append((body, f"Device {answer['credential']['device']}:{answer['credential']['secret']}"))

    async def _worker(self, http: httpx.AsyncClient, device: tuple[dict[str, Any], str], until: float) -> None:
        body, auth = device
        for n in range(100_000):
            if self.stop or time.monotonic() >= until:
                return
            batch: list[str] = []
            if self.events and n % 3 == 2:
                batch = [uuid.uuid4().hex for _ in range(5)]
                now = dt.datetime.now(dt.UTC).isoformat()
                events = [{"id": i, "kind": "usage", "occurred_at": now, "data": {}, "facts": {}} for i in batch]
                call = http.post("/v1/events", json={"events": events}, headers={"Authorization": auth})
            else:
                call = http.post("/v1/check", json=body, headers={"Authorization": auth})
            self.requests += 1
            try:
                answer = await call
            except httpx.TransportError as exc:
                self.errors[type(exc).__name__] += 1
                continue
            if answer.status_code // 100 == 2:
                self.ok += 1
                self.acknowledged += batch  # "acknowledged": the server answered 2xx
            else:
                self.errors[f"HTTP {answer.status_code}"] += 1
            if self.events:
                await asyncio.sleep(random.uniform(0.02, 0.06))  # modest: the machine is shared

    async def _run(self, seconds: float) -> None:
        async with httpx.AsyncClient(base_url=self.url, timeout=SDK_TIMEOUT) as http:
            if not self.devices:
                await self.register(http)
            until = time.monotonic() + seconds
            await asyncio.gather(*(self._worker(http, device, until) for device in self.devices))

    def run(self, seconds: float) -> None:
        asyncio.run(self._run(seconds))

    def start(self, seconds: float) -> threading.Thread:
        thread = threading.Thread(target=self.run, args=(seconds,), daemon=True)
        thread.start()
        return thread


def throughput(cluster: Cluster, seconds: float) -> tuple[float, float]:
    """Checks/s through HAProxy with every host in the pool, then with the first one only."""
    load = LoadGenerator(cluster.proxy.url, concurrency=8, events=False)
    load.run(1.0)  # registers the generator's devices and warms every host up: not measured
    rates = []
    for pool in (cluster.hosts, cluster.hosts[:1]):
        for host in cluster.hosts:
            cluster.proxy.set_state(host, "ready" if host in pool else "maint")
        before, start = load.ok, time.monotonic()
        load.run(seconds)
        rates.append((load.ok - before) / (time.monotonic() - start))
    for host in cluster.hosts:
        cluster.proxy.set_state(host, "ready")
        cluster.proxy.wait_status(host, "UP")
    return rates[0], rates[1]


def race(racers: list[Licentia], key: str) -> tuple[list[threading.Thread], Counter[str]]:
    """Every racer activates ``key`` at the same instant (join the threads); outcomes are counted as they come."""
    barrier = threading.Barrier(len(racers))
    outcomes: Counter[str] = Counter()

    def activate(lic: Licentia) -> None:
        barrier.wait()
        try:
            status = lic.activate(key)
            outcomes["granted" if status.state == "registered" else status.state] += 1
        except LicentiaError as exc:
            outcomes[getattr(exc, "code", type(exc).__name__)] += 1

    threads = [threading.Thread(target=activate, args=(lic,), daemon=True) for lic in racers]
    for thread in threads:
        thread.start()
    return threads, outcomes


def issue_license(cluster: Cluster, seats: int) -> tuple[int, str]:
    """A license of ``seats`` machines: its id and key."""
    from licentia.server.licenses.service import issue_license as issue
    from licentia.server.store.engine import database_urls, make_sync_engine

    engine = make_sync_engine(database_urls(cluster.database_url), pool_size=1)
    try:
        with engine.begin() as conn:
            now = dt.datetime.now(dt.UTC)
            issued = issue(conn, product=PRODUCT, email="buyer@example.com", now=now, max_devices=seats)
            return issued.id, issued.key
    finally:
        engine.dispose()


def database_facts(cluster: Cluster, acked: list[str], license_id: int, seats: int) -> tuple[int, int, int]:
    """(acknowledged events missing, machines over the license's seats, machines holding it), from PostgreSQL."""
    import psycopg

    with psycopg.connect(cluster.database_url) as conn:
        stored = {row[0] for row in conn.execute("SELECT client_event_id FROM events WHERE kind = 'usage'")}
        held = conn.execute(
            "SELECT count(DISTINCT machine_id) FROM devices WHERE license_id = %s", (license_id,)
        ).fetchone()
    machines = int(held[0]) if held else 0
    return len(set(acked) - stored), max(0, machines - seats), machines


def failover(args: argparse.Namespace) -> Figures:
    figures = Figures(hosts=args.hosts, seconds=args.seconds, sdk_clients=args.clients, seats=args.seats)
    with Cluster(hosts=args.hosts, workers=args.workers) as cluster:
        public_key = cluster.start()
        url, workdir = cluster.proxy.url, cluster.workdir
        figures.throughput_three, figures.throughput_one = throughput(cluster, args.throughput_seconds)
        license_id, key = issue_license(cluster, args.seats)
        racers = [sdk_client(url, public_key, workdir, f"racer{i}") for i in range(args.racers)]
        for lic in racers:
            lic.check()  # first contact before the race: the race is about seats, not credentials

        stop = threading.Event()
        loops = [SdkLoop(sdk_client(url, public_key, workdir, f"app{i}"), stop) for i in range(args.clients)]
        load = LoadGenerator(url, concurrency=args.load, events=True)
        start = time.monotonic()
        for loop in loops:
            loop.start()
        load_thread = load.start(args.seconds)
        victim = cluster.hosts[1]
        time.sleep(args.seconds * 0.3)
        racing, outcomes = race(racers, key)
        time.sleep(0.05)  # the activations are in flight through every host
        victim.crash()
        figures.killed_at = time.monotonic() - start
        for thread in racing:
            thread.join(120)
        figures.racers = len(racing)
        time.sleep(args.seconds * 0.3)
        victim.start(cluster.database_url, args.workers)
        figures.restarted_at = time.monotonic() - start
        victim.wait_ready()
        cluster.proxy.wait_status(victim, "UP")
        figures.ready_again_at = time.monotonic() - start
        load_thread.join(args.seconds + 60)
        stop.set()
        for loop in loops:
            loop.join(120)
        for lic in [loop.lic for loop in loops]:
            lic.flush(timeout=60)  # what is still queued goes now, every host up

        acked = acknowledged(loops) + load.acknowledged
        figures.events_acknowledged = len(acked)
        figures.events_lost, figures.seats_over_allocated, figures.seats_granted = database_facts(
            cluster, acked, license_id, args.seats
        )
        figures.sdk_checks = sum(loop.checks for loop in loops)
        figures.sdk_checks_failed = sum(loop.failed for loop in loops)
        figures.sdk_checks_copy_suspected = sum(loop.copies for loop in loops)
        figures.sdk_calls_failed = sum(loop.calls_failed for loop in loops) + outcomes["Offline"]
        figures.sdk_retries = sum(lic.transport.retried for lic in [loop.lic for loop in loops] + racers)
        figures.load_requests = load.requests
        figures.load_errors = dict(load.errors)
        print(f"activation race: {dict(outcomes)}", flush=True)
    return figures


def report(f: Figures) -> str:
    errors = ", ".join(f"{n} x {kind}" for kind, n in sorted(f.load_errors.items())) or "none"
    ratio = f.throughput_three / f.throughput_one if f.throughput_one else 0.0
    return "\n".join([
        f"{f.hosts} hosts behind HAProxy; {f.seconds:.0f} s of load; host2 killed (kill -9) at {f.killed_at:.1f} s,"
        f" restarted at {f.restarted_at:.1f} s, back in HAProxy's pool at {f.ready_again_at:.1f} s",
        f"acknowledged events lost:       {f.events_lost} (of {f.events_acknowledged} acknowledged, read back"
        " from PostgreSQL)",
        f"seats over-allocated:           {f.seats_over_allocated} ({f.racers} machines raced for {f.seats} seats"
        f" during the kill; {f.seats_granted} hold one)",
        f"SDK ({f.sdk_clients} applications):  {f.sdk_checks} checks, {f.sdk_checks_failed} answered offline,"
        f" {f.sdk_checks_copy_suspected} taken for a copy; {f.sdk_retries} requests sent again after a reset or"
        f" 502/503/504; {f.sdk_calls_failed} calls failed after their retries",
        f"without retries (generator):    {f.load_requests} requests, errors: {errors}",
        f"throughput (checks/s):          three hosts {f.throughput_three:.0f}, one host {f.throughput_one:.0f}"
        f" (ratio {ratio:.2f}; every host shares this machine's cores)",
    ])  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hosts", type=int, default=3)
    parser.add_argument("--workers", type=int, default=1, help="uvicorn workers per host")
    parser.add_argument("--seconds", type=float, default=45, help="length of the failover phase")
    parser.add_argument("--throughput-seconds", type=float, default=8, help="length of each throughput phase")
    parser.add_argument("--clients", type=int, default=6, help="SDK applications checking in a loop")
    parser.add_argument("--load", type=int, default=4, help="concurrent requests of the generator")
    parser.add_argument("--seats", type=int, default=3)
    parser.add_argument("--racers", type=int, default=8, help="machines racing for the seats")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    return main_of(lambda: failover(args), report, args.json, args.seconds + 2 * args.throughput_seconds + 600)


if __name__ == "__main__":
    sys.exit(main())
