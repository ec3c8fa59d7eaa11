"""``state``: the sealed state file the Python SDK writes, as what every client must read back from it.

The state file (``<data_dir>/state.json``) has one format for every SDK, so an application can
move from one SDK to another and keep its installation (``clients/js/src/state.ts`` and
``clients/c/src/state.c`` read and write it). Its fields are sealed with HMAC-SHA256 under a key
derived from the device secret; a file that fails the seal, or any other damage, is no state
(``client.state.State``).
"""

from __future__ import annotations

import base64
import json
from typing import Any

from licentia.client.state import State
from licentia.core.fingerprint import data_path_hash
from sections.common import DATA_DIR, KEY_1, PRODUCT, payload, signed_text

DEVICE = "dv_0f3a9c5e7b2d4a61"
SECRET = "s3cr3t-9Qx_v2.Lm~Z"  # noqa: S105 - a fixture, never a real secret


def _state(**changes: Any) -> State:
    fields: dict[str, Any] = {
        "signed": json.loads(signed_text(KEY_1, payload())),
        "credential": (DEVICE, SECRET),
        "token": "k3J9xQ2vN8",
        "install_reported": True,
        "last_usage_report": "2026-02-28T09:15:00Z",
        "last_seen": "2026-03-01T12:00:00Z",
        "clock_offset": -18000,
        "file_clock_skew": 1,
        "escrowed": True,
        "facts_opt_out": False,
    }
    return State(**{**fields, **changes})


def _edit(raw: bytes, change: Any) -> bytes:
    outer = json.loads(raw)
    change(outer)
    return json.dumps(outer, ensure_ascii=False, separators=(",", ":")).encode()


def _flip_in_body(raw: bytes) -> bytes:
    """One byte of the sealed body changed (the offset's last digit), the seal left as it was."""
    at = raw.index(b'\\"clock_offset\\":-18000') + len(b'\\"clock_offset\\":-1800')
    return raw[:at] + b"1" + raw[at + 1 :]


def _inputs() -> list[tuple[str, bytes, str]]:
    """(name, the file's bytes, the data directory it is read in)."""
    sealed = _state().to_json()
    here = DATA_DIR
    old_format = json.dumps({"format": 1, "credential": [DEVICE, SECRET], "signed": json.loads(signed_text(
        KEY_1, payload())), "token": "k3J9xQ2vN8", "install_reported": True, "last_seen": "2026-03-01T12:00:00Z",
        "facts_opt_out": True}).encode()  # fmt: skip
    mac_flipped = _edit(sealed, lambda o: o.__setitem__("mac", ("0" if o["mac"][0] != "0" else "1") + o["mac"][1:]))
    resealed = State(credential=(DEVICE, "another-secret"), token="k3J9xQ2vN8").to_json()  # noqa: S106 - a fixture
    return [
        ("sealed, every field", sealed, here),
        ("sealed, no document yet, nothing reported", _state(signed=None, token=None, install_reported=False,
                                                             last_usage_report=None, last_seen=None, clock_offset=0,
                                                             file_clock_skew=0, escrowed=False).to_json(), here),
        ("sealed, the user opted out of facts", _state(facts_opt_out=True).to_json(), here),
        ("before the first credential: the opt-out only", State(facts_opt_out=True).to_json(), here),
        ("an older SDK's unsealed state (format 1): no last-seen time", old_format, here),
        ("copied to another data directory: it reads, its document names the other path", sealed,
         "/home/eve/copy"),
        ("one byte of the sealed body changed", _flip_in_body(sealed), here),
        ("one character of the seal changed", mac_flipped, here),
        ("truncated", sealed[: len(sealed) // 2], here),
        ("truncated by one byte", sealed[:-1], here),
        ("another secret in place of the one it was sealed with",
         _edit(sealed, lambda o: o.__setitem__("secret", "another-secret")), here),
        ("another device in place of the one it was sealed for",
         _edit(sealed, lambda o: o.__setitem__("device", "dv_77aa00bb11cc22dd")), here),
        ("sealed with another secret, carrying this one",
         _edit(resealed, lambda o: o.__setitem__("secret", SECRET)), here),
        ("the seal removed", _edit(sealed, lambda o: o.pop("mac")), here),
        ("an unknown format", _edit(sealed, lambda o: o.__setitem__("format", 3)), here),
        ("damaged, but the opt-out is still honoured", _edit(_state(facts_opt_out=True).to_json(),
                                                             lambda o: o.__setitem__("mac", "00")), here),
        ("not JSON", b"\x00\xffnot json", here),
        ("empty", b"", here),
        ("a list", b"[]", here),
    ]  # fmt: skip


def expected(case: dict[str, Any]) -> dict[str, Any]:
    """What the SDK recovers from the file's bytes (``State.from_json``); a damaged file is ``corrupt``."""
    state = State.from_json(base64.b64decode(case["base64"])) if case["base64"] else State(corrupt=True)
    document = state.signed.get("document") if isinstance(state.signed, dict) else None
    names = document.get("data_path") == data_path_hash(case["product"], case["data_dir"]) if document else None
    return {
        "corrupt": state.corrupt,
        "credential": list(state.credential) if state.credential else None,
        "signed": state.signed,
        "token": state.token,
        "install_reported": state.install_reported,
        "last_usage_report": state.last_usage_report,
        "last_seen": state.last_seen,
        "clock_offset": state.clock_offset,
        "file_clock_skew": state.file_clock_skew,
        "escrowed": state.escrowed,
        "facts_opt_out": state.facts_opt_out,
        "document_names_this_data_path": names,
    }


def cases() -> list[dict[str, Any]]:
    out = []
    for name, raw, data_dir in _inputs():
        case: dict[str, Any] = {
            "name": name,
            "product": PRODUCT,
            "data_dir": data_dir,
            "base64": base64.b64encode(raw).decode("ascii"),
        }
        case["expected"] = expected(case)
        out.append(case)
    return out
