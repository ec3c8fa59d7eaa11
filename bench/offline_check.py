"""How much does an offline ``check()`` cost next to the bare Ed25519 verify it cannot avoid?

Run: ``python bench/offline_check.py``. Builds a signed status document for
this machine with a throw-away product key (no server needed), stores it as
the SDK would, then measures in this one run:

- the bare ``cryptography`` Ed25519 verify of the document's canonical bytes;
- reading the state file once (the one small file read an offline check needs);
- ``Licentia.check(online=False)`` answered from the stored document;
- a fresh interpreter that imports the SDK and checks offline, against ``python -c pass``.

Target: offline check <= 2 x bare verify + one small file read.
"""

from __future__ import annotations

import datetime as dt
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from licentia.client import Licentia
from licentia.client.fingerprint import take_fingerprint
from licentia.client.state import State, StateFile
from licentia.core.canonical import canonical_json
from licentia.core.clock import to_iso
from licentia.core.signing import SigningKey, _b64d

PRODUCT = "bench-app"
ROUNDS = 2000


def per_call(fn: Callable[[], object], rounds: int = ROUNDS) -> float:
    """Median seconds per call over 5 runs of ``rounds`` calls."""
    runs = []
    for _ in range(5):
        started = time.perf_counter()
        for _ in range(rounds):
            fn()
        runs.append((time.perf_counter() - started) / rounds)
    return statistics.median(runs)


def stored_document(data_dir: Path, key: SigningKey) -> dict[str, object]:
    fp = take_fingerprint(PRODUCT, data_dir)
    now = dt.datetime.now(dt.UTC)
    document = {
        "v": 1, "product": PRODUCT, "device": "dv_0123456789abcdef0123", "device_id": None,
        "components": dict(fp.components), "data_path": fp.data_path, "min_match": 2,
        "status": "registered", "reason": None, "allowed": True, "trial_end": to_iso(now + dt.timedelta(days=30)),
        "license": {"key_prefix": "ABCDE", "state": "active", "expires_at": None}, "features": ["pro", "export"],
        "issued_at": to_iso(now), "lease_until": to_iso(now + dt.timedelta(days=7)), "grace_days": 7,
        "usage_report_days": 31, "token": "t" * 32, "clone_suspected": False,
        "latest_release": {"version": "2.1.0", "channel": "stable", "download_url": "https://example.com/app-2.1.0"},
    }  # fmt: skip
    import json

    signed = json.loads(key.sign(document))
    state = State(signed=signed, credential=("dv_0123456789abcdef0123", "s" * 43), token="t" * 32,
                  install_reported=True, last_seen=to_iso(now))  # fmt: skip
    StateFile(data_dir).save(state)
    return signed


def fresh_process(code: str, runs: int = 7) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    key = SigningKey.generate()
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "data"
        signed = stored_document(data_dir, key)
        body = canonical_json(signed["document"])
        signature = _b64d(str(signed["sig"]))
        public = key.public_key
        state_path = data_dir / "state.json"
        state_size = state_path.stat().st_size

        verify = per_call(lambda: public.verify(signature, body))
        read = per_call(state_path.read_bytes)
        lic = Licentia("http://127.0.0.1:9", PRODUCT, key.export_public(), data_dir)
        status = lic.check(online=False)
        assert status.allowed and status.state == "registered", status
        offline = per_call(lambda: lic.check(online=False))

        code = (
            "from licentia.client import Licentia\n"
            f"s = Licentia('http://127.0.0.1:9', {PRODUCT!r}, {key.export_public()!r}, {str(data_dir)!r})"
            ".check(online=False)\n"
            "assert s.allowed\n"
        )
        fresh = fresh_process(code)
        bare_python = fresh_process("pass")

    budget = 2 * verify + read
    print(f"state file size           {state_size} bytes")
    print(f"bare Ed25519 verify       {verify * 1e6:8.1f} us")
    print(f"one state file read       {read * 1e6:8.1f} us")
    print(f"offline check()           {offline * 1e6:8.1f} us")
    print(f"ratio check / verify      {offline / verify:8.2f} x")
    print(f"target 2 x verify + read  {budget * 1e6:8.1f} us  -> {'met' if offline <= budget else 'MISSED'}")
    print(f"fresh process: import SDK + offline check  {fresh * 1e3:7.1f} ms")
    print(f"fresh process: python -c pass              {bare_python * 1e3:7.1f} ms")
    print(f"SDK import + check cost in a new process   {(fresh - bare_python) * 1e3:7.1f} ms")


if __name__ == "__main__":
    main()
