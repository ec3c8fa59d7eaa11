"""An application's start pays only for what its offline check uses (not a timed test).

``bench/cold_start.py`` measures the start as whole processes; these tests keep
the win from eroding without timing anything: a fresh interpreter runs an
offline ``check()`` from a stored document and reports what it imported.
Modules that each cost a sizeable share of Python's own start (``typing``,
``re`` through ``json``, ``enum``, ``functools``, ``dataclasses``,
``cryptography``, the network stack, ``tempfile``, Python 3.11's ``datetime``
module) must not be among them, nor the SDK's parts that only online calls,
facts, leases, meters or air-gapped activation use.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from licentia.client.fingerprint import take_fingerprint
from licentia.client.state import State, StateFile
from licentia.core.clock import to_iso
from licentia.core.signing import SigningKey

PRODUCT = "cold-app"
HEAVY = [
    "typing", "re", "enum", "json", "functools", "collections", "contextlib", "dataclasses", "inspect",
    "cryptography", "nacl.bindings", "ssl", "socket", "http.client", "urllib.request", "email", "sqlite3",
    "logging", "tempfile", "random", "pathlib", "threading", "platformdirs", "hashlib", "hmac", "warnings", "datetime",
    # The SDK's own parts an offline start does not use.
    "licentia.core.vocabulary", "licentia.core.facts", "licentia.client.facts", "licentia.client.events",
    "licentia.client.leases", "licentia.client.meters", "licentia.client.offline_activation", "licentia.core.airgap",
]  # fmt: skip


def store(data_dir: Path, key: SigningKey, *, last_seen: dt.datetime, status: str = "registered") -> None:
    fp = take_fingerprint(PRODUCT, data_dir)
    now = dt.datetime.now(dt.UTC)
    document = {
        "v": 1, "product": PRODUCT, "device": "dv_cold", "components": dict(fp.components),
        "data_path": fp.data_path, "min_match": 2, "status": status, "allowed": status == "registered",
        "license": {"key_prefix": "ABCDE", "state": "active", "expires_at": None}, "features": ["pro"],
        "issued_at": to_iso(now), "lease_until": to_iso(now + dt.timedelta(days=7)), "grace_days": 7,
        "token": "t" * 32,
    }  # fmt: skip
    state = State(signed=json.loads(key.sign(document)), credential=("dv_cold", "s" * 43), token="t" * 32,
                  install_reported=True, last_seen=to_iso(last_seen))  # fmt: skip
    StateFile(data_dir).save(state)


def offline_start(data_dir: Path, public_key: str, *, home: Path | None = None) -> tuple[dict[str, object], list[str]]:
    """A new process's ``Licentia(...).check(online=False)``: (its status, the heavy modules it imported).

    With ``home``, the application names no data folder: the SDK finds the default one under it.
    """
    where = "" if home else f", {str(data_dir)!r}"
    env = None
    if home:
        env = {k: v for k, v in os.environ.items() if not k.startswith("XDG_")} | {"HOME": str(home)}
    code = (
        "import sys\n"
        "from licentia.client import Licentia\n"
        f"s = Licentia('http://127.0.0.1:9', {PRODUCT!r}, {public_key!r}{where}).check(online=False)\n"
        f"heavy = [m for m in {HEAVY!r} if m in sys.modules]\n"
        "print(repr((s.allowed, s.state, s.reason, heavy)))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True, env=env)
    allowed, state, reason, heavy = eval(done.stdout)
    return {"allowed": allowed, "state": state, "reason": reason}, heavy


@pytest.mark.parametrize(
    ("minutes_ago", "why"),
    [(0, "a start soon after the last one: nothing written"), (600, "a later start: last_seen is saved")],
)
def test_an_offline_start_imports_only_what_it_uses(tmp_path: Path, minutes_ago: int, why: str) -> None:
    key = SigningKey.generate()
    data_dir = tmp_path / "data"
    store(data_dir, key, last_seen=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=minutes_ago))
    before = (data_dir / "state.json").read_bytes()
    status, heavy = offline_start(data_dir, key.export_public())
    assert status == {"allowed": True, "state": "registered", "reason": None}, why
    assert heavy == [], why
    assert ((data_dir / "state.json").read_bytes() != before) == (minutes_ago > 0), why


def test_the_default_data_folder_is_found_without_loading_more(tmp_path: Path) -> None:
    """No data folder named: the SDK finds platformdirs' folder (~/.local/share/<product>) by its rule."""
    key = SigningKey.generate()
    data_dir = tmp_path / "home" / ".local" / "share" / PRODUCT
    store(data_dir, key, last_seen=dt.datetime.now(dt.UTC))
    status, heavy = offline_start(data_dir, key.export_public(), home=tmp_path / "home")
    assert status == {"allowed": True, "state": "registered", "reason": None}
    assert heavy == []


def test_a_forged_document_is_refused_without_loading_more(tmp_path: Path) -> None:
    """The signature is checked at every start, never remembered: a document re-signed by another key fails."""
    genuine, forger = SigningKey.generate(), SigningKey.generate()
    data_dir = tmp_path / "data"
    store(data_dir, forger, last_seen=dt.datetime.now(dt.UTC))
    status, heavy = offline_start(data_dir, genuine.export_public())
    assert status == {"allowed": False, "state": "unknown", "reason": "invalid_document"}
    assert heavy == []
