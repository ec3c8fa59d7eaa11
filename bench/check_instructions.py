"""CPU instructions per check and per no-op, counted by valgrind's callgrind: figures that repeat.

    python bench/check_instructions.py                  # SQLite, then PostgreSQL if it can start one
    python bench/check_instructions.py --requests 400 --backends sqlite

Seconds on a shared 2-core machine move by 10-20% from one minute to the next; instructions do
not. Each server (``licentia serve``, and the raw ASGI no-op of ``bench/raw_asgi.py`` on the same
uvicorn stack) runs under ``valgrind --tool=callgrind`` with instrumentation off while it starts
and devices register, then, for each endpoint: counters zeroed, N requests over 16 kept-alive
connections at once (so the writer batches as under load), counters dumped (``callgrind_control``).
Every thread of the server counts (the writer's batches included: they are the checks' writes); the client does not.

Printed: instructions per request for the raw no-op, the app's no-op (``POST /v1/ping``) and the
check, their ratios (the inverse of a throughput ratio when the CPU is the limit), the check's
instructions by the library that ran them (the interpreter's share is every Python line: the
app, FastAPI's request object, pydantic's Python part, the database driver's Python part), and
the floor: what parsing the body, the canonical JSON and the signature cost alone, counted the
same way in a small driver process (N calls against 0).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from check_throughput import ROOT, each_backend, free_port, register

CALLGRIND = ["valgrind", "--tool=callgrind", "--instr-atstart=no", "--dump-instr=no"]
# Libraries, by the part of a check they are (matched against the object's file name).
LIBRARIES = [
    ("_sodium", "Ed25519 signature (libsodium, in PyNaCl)"),
    ("sqlite", "SQLite engine"),
    ("libpq", "PostgreSQL client library"),
    ("/psycopg", "PostgreSQL driver (compiled part)"),
    ("/pydantic_core/", "body validation (pydantic-core)"),
    ("/httptools/", "HTTP parsing (httptools, llhttp)"),
    ("/uvloop/", "event loop and sockets (uvloop, libuv)"),
    ("/_json.", "JSON encoder and decoder (_json)"),
    ("libcrypto", "OpenSSL (hashes, HMAC)"),
    ("/_hashlib.", "OpenSSL (hashes, HMAC)"),
    ("/libc.so", "C library (memory, strings)"),
    ("/libm.so", "C library (memory, strings)"),
    ("libpython", "Python interpreter (every Python line)"),
    ("/bin/python", "Python interpreter (every Python line)"),
]


class Traced:
    """A server process under callgrind; ``count(requests)`` answers its instructions for them."""

    def __init__(self, workdir: Path, name: str, argv: list[str], ready_path: str, connections: int) -> None:
        self.connections = connections
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.out = workdir / f"callgrind.{name}"
        self.log = open(workdir / f"{name}.log", "wb")  # noqa: SIM115
        argv = [a.replace("{port}", str(self.port)) for a in argv]
        self.proc = subprocess.Popen(
            [*CALLGRIND, f"--callgrind-out-file={self.out}.%p", *argv],
            stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        deadline = time.monotonic() + 600  # a Python start under valgrind takes a while on a busy machine
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{name} ended at start: see {self.log.name}")
            try:
                if httpx.post(self.url + ready_path, json={}, timeout=5).status_code < 500:
                    return
            except httpx.HTTPError:
                time.sleep(0.5)
        self.stop()
        raise RuntimeError(f"{name} did not start under valgrind")

    def _control(self, *args: str) -> None:
        subprocess.run(["callgrind_control", *args, str(self.proc.pid)], check=True, capture_output=True, timeout=300)

    def count(self, requests: list[tuple[str, str, str]]) -> tuple[int, dict[str, int]]:
        """Instructions for ``requests`` (path, body, authorization): total and by library."""
        before = set(self.out.parent.glob(f"{self.out.name}.*"))
        self._control("--instr=on")
        self._control("--zero")
        asyncio.run(send(self.url, requests, self.connections))
        self._control("--dump")
        self._control("--instr=off")
        (dump,) = set(self.out.parent.glob(f"{self.out.name}.*")) - before
        return by_library(dump)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=120)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


async def send(url: str, requests: list[tuple[str, str, str]], connections: int) -> None:
    """The requests over ``connections`` kept-alive connections at once, as many applications start."""
    queue = list(reversed(requests))

    async def worker(client: httpx.AsyncClient) -> None:
        while queue:
            path, body, auth = queue.pop()
            headers = {"content-type": "application/json"} | ({"authorization": auth} if auth else {})
            response = await client.post(path, content=body, headers=headers)
            if response.status_code != 200:
                raise RuntimeError(f"{path} answered {response.status_code}: {response.text[:200]}")

    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    async with httpx.AsyncClient(base_url=url, timeout=300, limits=limits) as client:
        await asyncio.gather(*(worker(client) for _ in range(connections)))


def by_library(dump: Path) -> tuple[int, dict[str, int]]:
    """The dump's total instructions and its self cost per shared object (callgrind's format)."""
    names: dict[str, str] = {}
    per_object: dict[str, int] = defaultdict(int)
    current, skip_next, total = "?", False, 0
    named = re.compile(r"^\((\d+)\)(?: (.*))?$")
    for line in dump.read_text(errors="replace").splitlines():
        if line.startswith(("ob=", "cob=")):  # an object is named where it first appears, as either
            value = line.split("=", 1)[1]
            ref = named.match(value)
            if ref and ref.group(2):
                names[ref.group(1)] = ref.group(2)
            if line.startswith("ob="):
                current = names.get(ref.group(1), "?") if ref else value
        elif line.startswith("calls="):
            skip_next = True  # the next cost line is the call's inclusive cost, not this function's own
        elif line.startswith(("summary:", "totals:")):
            total = max(total, int(line.split()[1]))
        elif line[:1].isdigit() or line[:1] in "+-*":
            if skip_next:
                skip_next = False
                continue
            parts = line.split()
            if len(parts) >= 2:
                per_object[current] += int(parts[-1])
    grouped: dict[str, int] = defaultdict(int)
    for obj, cost in per_object.items():
        label = next((label for key, label in LIBRARIES if key in obj), "other libraries")
        grouped[label] += cost
    return total, dict(grouped)


FLOOR = """
import sys, time
from licentia.core.canonical import canonical_json
from licentia.core.signing import SigningKey
from licentia.server.devices.schemas import CheckRequest
n, part = int(sys.argv[1]), sys.argv[2]
body = open(sys.argv[3], "rb").read()
document = {
    "v": 1, "product": "my-app", "device": "dv_" + "a" * 22, "data_path": "d" * 64,
    "components": {k: "c" * 64 for k in ("machine", "disk", "cpu", "mac")}, "min_match": 2,
    "status": "trial", "allowed": True, "trial_ends_at": "2026-12-19T10:00:00Z", "license": None,
    "features": [], "entitlements": {}, "issued_at": "2026-12-05T10:00:00Z", "grace_days": 7,
    "lease_until": "2026-12-12T10:00:00Z", "token": "t" * 43, "nonce": "n" * 32, "server_time": 1,
}
key = SigningKey.generate()
key.sign(document); CheckRequest.model_validate_json(body); canonical_json(document)
work = {
    "parse": lambda: CheckRequest.model_validate_json(body),
    "canonical": lambda: canonical_json(document),
    "sign": lambda: key.sign(document),
}[part]
for _ in range(n):
    work()
"""


def floor(workdir: Path, body: str, n: int) -> dict[str, float]:
    """Instructions per call of the check's fixed parts, counted in a small process: N calls against 0."""
    script, body_file = workdir / "floor.py", workdir / "body.json"
    script.write_text(FLOOR)
    body_file.write_text(body)
    out: dict[str, float] = {}
    for part in ("parse", "canonical", "sign"):
        totals = []
        for calls in (0, n):
            dump = workdir / f"floor.{part}.{calls}"
            subprocess.run(
                ["valgrind", "--tool=callgrind", f"--callgrind-out-file={dump}", sys.executable, str(script),
                 str(calls), part, str(body_file)],
                check=True, capture_output=True, timeout=900, env=os.environ | {"PYTHONHASHSEED": "0"},
            )  # fmt: skip
            totals.append(by_library(dump)[0])
        out[part] = (totals[1] - totals[0]) / n
    return out


def measure(name: str, database_url: str | None, args: argparse.Namespace) -> dict[str, object]:
    workdir = Path(tempfile.mkdtemp(prefix=f"licentia-instr-{name}."))
    servers: list[Traced] = []
    try:
        serve = [sys.executable, "-m", "licentia", "serve", "--data-dir", str(workdir / "data"), "--port", "{port}"]
        if database_url:
            serve += ["--database-url", database_url]
        app = Traced(workdir, "licentia", serve, "/v1/ping", args.connections)
        servers.append(app)
        raw_argv = [
            sys.executable, "-m", "uvicorn", "raw_asgi:app", "--app-dir", str(ROOT / "bench"), "--port", "{port}",
            "--loop", "uvloop", "--http", "httptools", "--no-access-log", "--log-level", "warning",
        ]  # fmt: skip
        raw = Traced(workdir, "raw", raw_argv, "/", args.connections)
        servers.append(raw)
        devices = asyncio.run(register(app.url, "my-app", args.requests + 20))
        checks = [("/v1/check", body, auth) for body, auth in devices]
        pings = [("/v1/ping", "{}", "")] * args.requests
        app.count(checks[-20:] + pings[:20])  # warm-up: every path taken once before counting
        results: dict[str, object] = {
            "raw ASGI no-op": raw.count([("/", "{}", "")] * args.requests),
            "no-op": app.count(pings),
            "check": app.count(checks[: args.requests]),
        }
        results["floor"] = floor(workdir, devices[0][0], args.floor_calls)
        return results
    finally:
        for server in servers:
            server.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def report(name: str, results: dict[str, object], n: int) -> dict[str, object]:
    per = {label: results[label][0] / n for label in ("raw ASGI no-op", "no-op", "check")}  # type: ignore[index]
    print(f"\n{name}: instructions per request ({n} requests each)")
    for label, value in per.items():
        print(f"  {label:<20}{value:>14,.0f}")
    for base in ("no-op", "raw ASGI no-op"):
        times = per["check"] / per[base]
        print(f"  check / {base + ':':<16}{times:.2f}x  (as a throughput ratio: {1 / times:.2f})")
    libraries: dict[str, int] = results["check"][1]  # type: ignore[index]
    print("  the check's instructions by library:")
    for label, cost in sorted(libraries.items(), key=lambda item: -item[1]):
        print(f"    {label:<44}{cost / n:>12,.0f}  {cost / sum(libraries.values()):>6.1%}")
    fixed: dict[str, float] = results["floor"]  # type: ignore[assignment]
    floor_total = per["raw ASGI no-op"] + fixed["parse"] + fixed["sign"]  # signing includes its canonical JSON
    print("  the floor (raw HTTP no-op + the parts every check must do, counted alone):")
    for label, value in (
        ("HTTP in and out (raw ASGI no-op)", per["raw ASGI no-op"]),
        ("parse and validate the body", fixed["parse"]),
        ("canonical JSON of the document", fixed["canonical"]),
        ("Ed25519 signature and its wrapping", fixed["sign"] - fixed["canonical"]),
    ):
        print(f"    {label:<44}{value:>12,.0f}")
    print(f"    {'floor':<44}{floor_total:>12,.0f}  = {floor_total / per['check']:.2f} of the check")
    print(f"    {'the rest: reads, decision, writes, framing':<44}{per['check'] - floor_total:>12,.0f}")
    return {"per_request": per, "libraries": {k: v / n for k, v in libraries.items()}, "floor": fixed}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=300, help="requests counted per endpoint")
    parser.add_argument("--connections", type=int, default=16, help="requests in flight at once")
    parser.add_argument("--floor-calls", type=int, default=2000, help="calls per part in the floor's driver")
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    if not (shutil.which("valgrind") and shutil.which("callgrind_control")):
        print("valgrind is missing: apt-get install valgrind", file=sys.stderr)
        return 2
    figures = {}
    for name, results in each_backend(args, measure):
        figures[name] = report(name, results, args.requests)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
