"""The metering race with real concurrent clients: many machines, real ``licentia serve --workers`` processes.

PostgreSQL: two server processes of two workers each on one database;
SQLite: one server of two workers on one file. Machines activated on one
license consume at once, far past the limit: exactly the limit is counted,
every other consumption is refused, and a consumption retried under one
idempotency key from many threads at once is counted once.
"""

from __future__ import annotations

import concurrent.futures
import json
from typing import Any

import httpx
import pytest

from tests.conftest import LiveServer
from tests.server.helpers import auth, fingerprint

LIMIT = 60
MACHINES = 6
CONSUMERS = 24  # threads, spread over the machines and the server processes
EACH = 6  # consumptions of 1 per thread: 144 asked, 60 allowed


def _servers(tmp_path: Any, database_url: str) -> list[LiveServer]:
    data = tmp_path / "server"
    first = LiveServer(data, database_url=database_url, workers=2).start()
    servers = [first]
    if not database_url.startswith("sqlite"):
        # The second process shares the database and the data directory (its secret key).
        servers.append(LiveServer(data, database_url=database_url, workers=2).start())
    return servers


def _license(server: LiveServer) -> str:
    meters = json.dumps({"renders": {"limit": LIMIT, "period": "month"}})
    made = server.cli("policy", "create", "my-app", "Studio", "--set", f"meters={meters}", "--set", "max_devices=10")
    assert made.returncode == 0, made.stderr
    key = server.cli("license", "issue", "--product", "my-app", "--email", "a@b.c", "--policy", "Studio")
    assert key.returncode == 0, key.stderr
    return key.stdout.strip()


def _activate(url: str, key: str, i: int) -> dict[str, Any]:
    with httpx.Client(base_url=url, timeout=120) as http:
        body = {"product": "my-app", "fingerprint": fingerprint("my-app", machine=f"m{i}", disk=f"d{i}", mac=f"n{i}")}
        first = json.loads(http.post("/v1/check", json=body).content)
        cred = first["credential"]
        answer = http.post("/v1/activate", json={**body, "key": key, "token": first["signed"]["document"]["token"]},
                           headers=auth(cred))  # fmt: skip
        assert answer.status_code == 200, answer.text
        return {"credential": cred, "token": json.loads(answer.content)["signed"]["document"]["token"]}


def _consume(url: str, machine: dict[str, Any], n: int, key: str | None = None) -> list[int]:
    codes = []
    with httpx.Client(base_url=url, timeout=120) as http:
        for _ in range(n):
            body = {"meter": "renders", "amount": 1, "token": machine["token"], "idempotency_key": key}
            codes.append(http.post("/v1/consume", json=body, headers=auth(machine["credential"])).status_code)
    return codes


def _usage(server: LiveServer, key: str) -> dict[str, Any]:
    shown = server.cli("license", "usage", key, "--json")
    assert shown.returncode == 0, shown.stderr
    return {m["meter"]: m for m in json.loads(shown.stdout)["meters"]}


@pytest.mark.slow
def test_concurrent_consumers_never_pass_the_limit_and_a_retried_key_counts_once(tmp_path, database_url):
    servers = _servers(tmp_path, database_url)
    try:
        key = _license(servers[0])
        urls = [s.url for s in servers]
        machines = [_activate(urls[i % len(urls)], key, i) for i in range(MACHINES)]
        with concurrent.futures.ThreadPoolExecutor(max_workers=CONSUMERS) as pool:
            jobs = [pool.submit(_consume, urls[i % len(urls)], machines[i % MACHINES], EACH) for i in range(CONSUMERS)]
            codes = [code for job in jobs for code in job.result()]
        assert codes.count(200) == LIMIT, codes
        assert codes.count(409) == CONSUMERS * EACH - LIMIT
        assert _usage(servers[0], key)["renders"]["used"] == LIMIT

        # A new period's worth: the vendor raises the limit; one key sent by 12 threads at once counts 1.
        raised = json.dumps({"renders": {"limit": LIMIT + 5, "period": "month"}})
        done = servers[0].cli("policy", "set", "my-app", "Studio", "--set", f"meters={raised}")
        assert done.returncode == 0, done.stderr
        with concurrent.futures.ThreadPoolExecutor(max_workers=12) as pool:
            jobs = [pool.submit(_consume, urls[i % len(urls)], machines[0], 1, "retry-1") for i in range(12)]
            retried = [code for job in jobs for code in job.result()]
        assert retried == [200] * 12
        assert _usage(servers[0], key)["renders"]["used"] == LIMIT + 1
    finally:
        for server in servers:
            server.stop()
