"""How much does an offline ``check()`` cost next to the work it cannot avoid?

Run: ``python bench/offline_check.py``. Builds a signed status document for
this machine with a throw-away product key (no server needed), stores it as
the SDK would, then measures in this one run:

- the bare ``cryptography`` Ed25519 verify of the document's canonical bytes;
- the file reads an offline check cannot avoid: the state file, and this
  machine's hardware identifiers (read afresh on every check, so that a state
  copied to other hardware is refused whatever it says);
- ``Licentia.check(online=False)`` answered from the stored document.

Target: offline check <= 2 x bare verify + those file reads. Measured alone in
a tight loop, each piece runs with hot caches that the check, which does them
one after the other, does not enjoy; so the target is judged against the
reads and the verify run back to back (plus one more verify), and the figure
against the pieces measured alone is printed too.
The cost of a whole new process (import and check) is ``bench/cold_start.py``'s.
"""

from __future__ import annotations

import datetime as dt
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from licentia.client import Licentia
from licentia.client.fingerprint import take_fingerprint
from licentia.client.hardware import read_hardware
from licentia.client.state import State, StateFile
from licentia.core.canonical import canonical_json
from licentia.core.clock import to_iso
from licentia.core.signing import SigningKey, _b64d

PRODUCT = "bench-app"
ROUNDS = 2000


def interleaved(calls: dict[str, Callable[[], object]], rounds: int = 15, batch: int = 200) -> dict[str, list[float]]:
    """Seconds per call of each function, measured in rounds that run every function in turn.

    A shared machine's load drifts; measuring the pieces side by side in each
    round keeps the ratios honest even when the absolute figures wander.
    """
    times: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(rounds):
        for name, fn in calls.items():
            started = time.perf_counter()
            for _ in range(batch):
                fn()
            times[name].append((time.perf_counter() - started) / batch)
    return times


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

        lic = Licentia("http://127.0.0.1:9", PRODUCT, key.export_public(), data_dir)
        status = lic.check(online=False)
        assert status.allowed and status.state == "registered", status

        def unavoidable() -> None:
            """What any offline check must do, run back to back as the check runs it (same caches)."""
            state_path.read_bytes()
            read_hardware(data_dir, virtual=False)
            public.verify(signature, body)

        times = interleaved(
            {
                "verify": lambda: public.verify(signature, body),
                "state": state_path.read_bytes,
                "hardware": lambda: read_hardware(data_dir, virtual=False),
                "unavoidable": unavoidable,
                "check": lambda: lic.check(online=False),
            }
        )
        used = ", ".join(lic.fingerprint().used)

    med = {name: statistics.median(values) for name, values in times.items()}
    rounds = list(zip(*(times[n] for n in ("verify", "state", "hardware", "unavoidable", "check")), strict=True))
    to_parts = statistics.median(c / (2 * v + s + h) for v, s, h, _u, c in rounds)
    to_budget = statistics.median(c / (v + u) for v, _s, _h, u, c in rounds)
    print(f"state file size                 {state_size} bytes; medians of {len(rounds)} interleaved rounds")
    print(f"bare Ed25519 verify             {med['verify'] * 1e6:8.1f} us")
    print(f"read the state file             {med['state'] * 1e6:8.1f} us")
    print(f"read this machine's hardware    {med['hardware'] * 1e6:8.1f} us  ({used})")
    print(f"reads + verify, back to back    {med['unavoidable'] * 1e6:8.1f} us  (what any offline check must do)")
    print(f"offline check()                 {med['check'] * 1e6:8.1f} us")
    print(f"check / (2 x verify + reads), each measured alone      {to_parts:5.2f} x")
    verdict = "met" if to_budget <= 1 else "MISSED"
    print(f"check / (verify + (reads + verify back to back))       {to_budget:5.2f} x  -> {verdict} (target <= 1)")


if __name__ == "__main__":
    main()
