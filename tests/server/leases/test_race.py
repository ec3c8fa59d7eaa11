"""Fifty machines check out at once against five floating seats, through real ``licentia serve`` workers.

PostgreSQL with three worker processes and the SQLite file with two: the seat
count is the database's (the license's row lock, SQLite's write lock), never a
process's, so exactly five checkouts win and the others hear when a seat frees.
"""

from __future__ import annotations

import concurrent.futures
import json
import threading
from typing import Any

import httpx
import pytest

from tests.conftest import LiveServer
from tests.server.helpers import auth, fingerprint

MACHINES, SEATS = 50, 5


def _installations(url: str) -> list[tuple[dict[str, Any], dict[str, str]]]:
    """Fifty machines, each checked in once (its credential)."""

    def first_contact(i: int) -> tuple[dict[str, Any], dict[str, str]]:
        body = {"product": "my-app", "fingerprint": fingerprint("my-app", machine=f"m{i}", disk=f"d{i}", mac=f"n{i}")}
        with httpx.Client(base_url=url, timeout=120) as http:
            answer = http.post("/v1/check", json=body)
        assert answer.status_code == 200, answer.text
        return body, json.loads(answer.content)["credential"]

    with concurrent.futures.ThreadPoolExecutor(max_workers=10) as pool:
        return list(pool.map(first_contact, range(MACHINES)))


def _checkouts_at_once(url: str, key: str, machines: list[tuple[dict[str, Any], dict[str, str]]]) -> list[Any]:
    start = threading.Barrier(len(machines))

    def checkout(machine: tuple[dict[str, Any], dict[str, str]]) -> Any:
        _body, credential = machine
        with httpx.Client(base_url=url, timeout=120) as http:
            start.wait(timeout=120)  # every request leaves together
            return http.post("/v1/leases", json={"product": "my-app", "key": key}, headers=auth(credential))

    with concurrent.futures.ThreadPoolExecutor(max_workers=len(machines)) as pool:
        return list(pool.map(checkout, machines))


@pytest.mark.slow
def test_fifty_concurrent_checkouts_never_lease_more_than_five_seats(tmp_path, database_url):
    workers = 2 if database_url.startswith("sqlite") else 3
    server = LiveServer(tmp_path / "server", database_url=database_url, workers=workers).start()
    try:
        made = server.cli("policy", "create", "my-app", "Floating", "--set", "kind=floating",
                          "--set", f"max_devices={SEATS}", "--set", "floating_lease_seconds=600")  # fmt: skip
        assert made.returncode == 0, made.stderr
        issued = server.cli("license", "issue", "--product", "my-app", "--email", "a@b.c", "--policy", "Floating")
        assert issued.returncode == 0, issued.stderr
        key = issued.stdout.strip()
        machines = _installations(server.url)
        answers = _checkouts_at_once(server.url, key, machines)
        codes = [a.status_code for a in answers]
        assert codes.count(200) == SEATS, [a.text for a in answers if a.status_code not in (200, 409)]
        refused = [a for a in answers if a.status_code == 409]
        assert len(refused) == MACHINES - SEATS
        assert {a.json()["error"]["code"] for a in refused} == {"no_seat_available"}
        assert all(0 < int(a.headers["Retry-After"]) <= 601 for a in refused)

        shown = server.cli("license", "leases", key, "--json")
        assert shown.returncode == 0, shown.stderr
        listed = json.loads(shown.stdout)
        assert listed["seats_used"] == SEATS and [lease["state"] for lease in listed["leases"]] == ["live"] * SEATS

        # A released seat goes to exactly one of the waiting machines.
        winner = next(i for i, a in enumerate(answers) if a.status_code == 200)
        with httpx.Client(base_url=server.url, timeout=120) as http:
            lease = answers[winner].json()["lease"]
            assert http.post(f"/v1/leases/{lease}/release", headers=auth(machines[winner][1])).status_code == 200
        losers = [m for m, a in zip(machines, answers, strict=True) if a.status_code == 409][:10]
        again = [a.status_code for a in _checkouts_at_once(server.url, key, losers)]
        assert sorted(again) == [200] + [409] * 9
    finally:
        server.stop()
