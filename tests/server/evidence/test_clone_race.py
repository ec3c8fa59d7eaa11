"""The race: two copies of one state checking at once, through real HTTP, against a real server.

Whatever order the server sees them in, it must end with exactly one copy holding
the live token and the other flagged (no new token, ``clone_suspected``).
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import LiveServer
from tests.server.helpers import fingerprint, verified

ROUNDS = 5
PRODUCT = "my-app"


class Copy:
    """One copy of an installation's stored state, behaving like the SDK (keeps its last token)."""

    def __init__(self, url: str, public_key: str, credential: dict[str, str], token: str) -> None:
        self.http = httpx.Client(base_url=url, timeout=30)
        self.public_key = public_key
        self.credential = dict(credential)
        self.token: str | None = token
        self.fp = fingerprint(PRODUCT)
        self.last: dict[str, Any] = {}

    def check(self) -> dict[str, Any]:
        headers = {"Authorization": f"Device {self.credential['device']}:{self.credential['secret']}"}
        body = {"product": PRODUCT, "fingerprint": self.fp, "token": self.token}
        doc = verified(self.http.post("/v1/check", json=body, headers=headers), self.public_key, PRODUCT)
        if doc["token"]:
            self.token = doc["token"]
        self.last = doc
        return doc


def _together(copies: list[Copy]) -> None:
    barrier = threading.Barrier(len(copies))
    errors: list[BaseException] = []

    def run(copy: Copy) -> None:
        try:
            barrier.wait(timeout=10)
            copy.check()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(c,)) for c in copies]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors


@pytest.fixture
def server(tmp_path: Path, database_url: str) -> Any:
    # Two workers: on PostgreSQL the copies can really meet in two processes at once.
    live = LiveServer(tmp_path / "server", database_url=database_url, workers=2).start()
    yield live
    live.stop()


def test_concurrent_copies_end_with_one_live_token(server: LiveServer) -> None:
    public_key = server.public_key(PRODUCT)
    with httpx.Client(base_url=server.url, timeout=30) as http:
        first = http.post("/v1/check", json={"product": PRODUCT, "fingerprint": fingerprint(PRODUCT)})
        doc = verified(first, public_key, PRODUCT)
        credential = json.loads(first.content)["credential"]
    a = Copy(server.url, public_key, credential, doc["token"])
    b = Copy(server.url, public_key, credential, doc["token"])
    try:
        for _ in range(ROUNDS):
            _together([a, b])
        # One more check each, one after the other, to read the settled state.
        final = {name: copy.check() for name, copy in (("a", a), ("b", b))}
        live = [name for name, d in final.items() if d["token"]]
        flagged = [name for name, d in final.items() if d["token"] is None]
        assert len(live) == 1 and len(flagged) == 1, final
        assert final[flagged[0]]["clone_suspected"] is True
        holder = a if live == ["a"] else b
        assert holder.check()["token"]  # and it keeps rotating
        loser = b if holder is a else a
        assert loser.check()["token"] is None
    finally:
        a.http.close()
        b.http.close()
