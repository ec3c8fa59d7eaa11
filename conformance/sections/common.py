"""What every section's cases share: the product, the fixed keys and time, a status document.

Keys come from fixed seeds and times are fixed, so every case is reproducible byte for byte.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from licentia.core.clock import UTC, to_iso
from licentia.core.fingerprint import component_hash, data_path_hash
from licentia.core.signing import SigningKey, load_public_key

PRODUCT = "my-app"
T0 = dt.datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
DATA_DIR = "/home/ada/.local/share/my-app"


def seeded_key(name: str) -> SigningKey:
    seed = hashlib.sha256(f"licentia-conformance:{name}".encode()).digest()
    return SigningKey(Ed25519PrivateKey.from_private_bytes(seed))


KEY_1, KEY_2, KEY_3 = seeded_key("my-app-1"), seeded_key("my-app-2"), seeded_key("my-app-3")
OTHER_VENDOR = seeded_key("other-vendor")


def pinned(*keys: SigningKey) -> list[str]:
    return [k.export_public() for k in keys]


def trusted(texts: list[str]) -> dict[str, Any]:
    return dict(load_public_key(t) for t in texts)


COMPONENTS = {
    name: component_hash(PRODUCT, name, raw)
    for name, raw in (("machine", "4f1c2b7e9d0a4c3b8e6f5a1d2c3b4a59"), ("disk", "S3Z9NB0K123456"),
                      ("cpu", "GenuineIntel|6|142|Intel(R) Core(TM) i7-8650U|10"), ("mac", "3c:52:82:10:aa:bb"))
}  # fmt: skip
DATA_PATH = data_path_hash(PRODUCT, DATA_DIR)


def payload(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "v": 1,
        "product": PRODUCT,
        "device": "dv_0f3a9c5e7b2d4a61",
        "machine": "mc_7e21b0c4d9f35a88",
        "status": "trial",
        "allowed": True,
        "reason": None,
        "trial_end": to_iso(T0 + dt.timedelta(days=20)),
        "license": None,
        "features": [],
        "issued_at": to_iso(T0),
        "lease_until": to_iso(T0 + dt.timedelta(days=7)),
        "grace_days": 7,
        "usage_report_days": 31,
        "token": "k3J9xQ2vN8",
        "clone_suspected": False,
        "latest_release": None,
        "components": dict(COMPONENTS),
        "data_path": DATA_PATH,
        "min_match": 2,
        "note": "ünïcode «中文» 😀 \u2028",
    }
    base.update(changes)
    return base


REGISTERED = {
    "status": "registered",
    "trial_end": None,
    "license": {"id": "li_5c2e", "key_prefix": "7KQ2M", "expires_at": to_iso(T0 + dt.timedelta(days=30))},
    "features": ["pro", "export"],
}


def signed_text(key: SigningKey, doc: dict[str, Any], endorsements: list[dict[str, str]] | None = None) -> str:
    return key.sign(doc, endorsements or []).decode("utf-8")


def mutate(text: str, change: Callable[[dict[str, Any]], None]) -> str:
    """Change a signed document as a forger would, keeping the old signature."""
    body = json.loads(text)
    change(body)
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"))


def set_doc(name: str, value: Any) -> Callable[[dict[str, Any]], None]:
    return lambda body: body["document"].__setitem__(name, value)


def flip_sig(body: dict[str, Any]) -> None:
    sig = body["sig"]
    body["sig"] = ("B" if sig[0] == "A" else "A") + sig[1:]
