"""``airgapped``: the activation request file the SDK writes, and the response files it installs or refuses.

A machine without network writes a request (its claim signed with a new Ed25519 key, beside a
new X25519 key the vendor seals the credential to); the vendor's response carries a status
document signed by the product's key, naming the request, and the credential sealed to the
machine (``core.airgap``; ``client.offline_activation``: ``request_text``, ``open_response``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from licentia.client.fingerprint import Fingerprint
from licentia.client.offline_activation import ResponseRefused, open_response, request_text
from licentia.client.status import status_of
from licentia.core import airgap
from licentia.core.answers import server_time
from licentia.core.clock import from_iso, to_iso
from licentia.core.fingerprint import component_hash
from licentia.core.licensekeys import ALPHABET, _check_char, format_key
from licentia.core.signing import SigningKey
from sections.common import (
    COMPONENTS,
    DATA_PATH,
    KEY_1,
    OTHER_VENDOR,
    PRODUCT,
    REGISTERED,
    T0,
    mutate,
    payload,
    pinned,
    set_doc,
    signed_text,
    trusted,
)

DAY = dt.timedelta(days=1)
DEVICE = payload()["device"]
SECRET = "0ff1ine-s3cr3t-Qx9"  # noqa: S105 - a fixture, never a real secret
ACTIVATION = "oa_5c2e9d0a4c3b8e6f5a1d"


def _seed(name: str) -> bytes:
    return hashlib.sha256(f"licentia-conformance:{name}".encode()).digest()


def _text(raw: bytes) -> str:
    return airgap.b64e(raw)


BOX = X25519PrivateKey.from_private_bytes(_seed("machine-box"))
PROOF = Ed25519PrivateKey.from_private_bytes(_seed("machine-proof"))
OTHER_BOX = X25519PrivateKey.from_private_bytes(_seed("another-machine-box"))
EPHEMERAL = X25519PrivateKey.from_private_bytes(_seed("vendor-ephemeral"))
REQUEST_NONCE = _text(_seed("request-nonce"))
_BODY = "".join(ALPHABET[(i * 7 + 3) % 32] for i in range(24))
LICENSE_KEY = format_key(_BODY + _check_char(_BODY))


def _request_inputs() -> list[tuple[str, dict[str, Any]]]:
    fingerprint = {"components": dict(COMPONENTS), "data_path": DATA_PATH, "virtual": False}
    base: dict[str, Any] = {
        "product": PRODUCT, "key": LICENSE_KEY, "fingerprint": fingerprint, "nonce": REQUEST_NONCE,
        "created_at": to_iso(T0), "box": private(BOX), "proof": private(PROOF), "app_version": "2.4.1",
        "os": "Linux 6.8.0-45-generic",
    }  # fmt: skip
    return [
        ("a request", base),
        ("no app version", {**base, "app_version": None}),
        ("a virtual machine with two components read", {**base, "fingerprint": {
            "components": {"machine": COMPONENTS["machine"], "cpu": COMPONENTS["cpu"]}, "data_path": DATA_PATH,
            "virtual": True}}),
        ("non-ASCII in the app version and the OS", {**base, "app_version": "2.4.1-\u00e9t\u00e9",
                                                    "os": "Windows 11 \u4e2d\u6587"}),
    ]  # fmt: skip


def private(key: X25519PrivateKey | Ed25519PrivateKey) -> str:
    """A private key as ``offline.json`` keeps it: its 32 raw bytes, unpadded base64url."""
    return airgap.private_text(key)


def request_expected(case: dict[str, Any]) -> dict[str, Any]:
    inputs = case["inputs"]
    text = request_text(
        product=inputs["product"], key=inputs["key"], fingerprint=inputs["fingerprint"], nonce=inputs["nonce"],
        created_at=inputs["created_at"], box=airgap.load_box_key(inputs["box"]),
        proof=airgap.load_signing_key(inputs["proof"]), app_version=inputs["app_version"], os=inputs["os"],
    )  # fmt: skip
    return {"text": text}


# -- responses ---------------------------------------------------------------------


def _document(**changes: Any) -> dict[str, Any]:
    """The status document a response carries: dated at the request, naming it (``server.offline.service``)."""
    return payload(**{**REGISTERED, "token": "0fFl1neT0k3n", "lease_until": to_iso(T0 + 365 * DAY),
                      "offline": {"activation": ACTIVATION, "request": REQUEST_NONCE}, **changes})  # fmt: skip


def _sealed(credential: dict[str, Any], box: X25519PrivateKey = BOX, context: str = REQUEST_NONCE) -> dict[str, str]:
    plain = json.dumps(credential).encode()
    public = airgap.public_text(box)
    return airgap.seal(plain, public, context.encode(), ephemeral=EPHEMERAL, nonce=_seed("seal-nonce")[:12])


def response(*, signed: Any = None, key: SigningKey = KEY_1, sealed: Any = None, **envelope: Any) -> str:
    body = {
        "v": airgap.FORMAT,
        "product": PRODUCT,
        "request": REQUEST_NONCE,
        "signed": json.loads(signed_text(key, _document())) if signed is None else signed,
        "sealed": _sealed({"device": DEVICE, "secret": SECRET}) if sealed is None else sealed,
        **envelope,
    }
    return airgap.armor(airgap.RESPONSE, body)


def _response_inputs() -> list[tuple[str, str, dt.datetime, int, list[str]]]:
    """(name, the response file's text, local now, offset_seconds, the nonces of the pending requests)."""
    genuine = response()
    mine = [REQUEST_NONCE]
    other_hw = {n: component_hash(PRODUCT, n, "other") for n in COMPONENTS}
    forged = mutate(signed_text(KEY_1, _document()), set_doc("lease_until", to_iso(T0 + 3650 * DAY)))
    request_file = request_text(product=PRODUCT, key=LICENSE_KEY, fingerprint={}, nonce=REQUEST_NONCE,
                                created_at=to_iso(T0), box=BOX, proof=PROOF, app_version=None, os="Linux")  # fmt: skip
    signed = lambda **c: json.loads(signed_text(KEY_1, _document(**c)))  # noqa: E731
    behind = int(2 * DAY.total_seconds())
    return [
        ("the response to this machine's request", genuine, T0 + DAY, 0, mine),
        ("line ends of a mail (CR LF) and indented lines", genuine.replace("\n", "\r\n  "), T0 + DAY, 0, mine),
        ("among several pending requests", genuine, T0 + DAY, 0, ["b3RoZXIgcmVxdWVzdA", REQUEST_NONCE]),
        ("clock 2 days behind the vendor's, no offset kept: issued in its future", genuine, T0 - 2 * DAY, 0, mine),
        ("clock 2 days behind, the offset of an earlier answer kept", genuine, T0 - 2 * DAY, behind, mine),
        ("a request this installation did not write", genuine, T0 + DAY, 0, ["b3RoZXIgcmVxdWVzdA"]),
        ("no request pending", genuine, T0 + DAY, 0, []),
        ("another product's response", response(product="other-app"), T0 + DAY, 0, mine),
        ("an unknown version", response(v=2), T0 + DAY, 0, mine),
        ("a request file is no response", request_file, T0 + DAY, 0, mine),
        ("not a Licentia file", "Hello,\nplease find the license attached.\n", T0 + DAY, 0, mine),
        ("damaged inside", "-----BEGIN LICENTIA ACTIVATION RESPONSE-----\nbm90IGpzb24\n"
                           "-----END LICENTIA ACTIVATION RESPONSE-----\n", T0 + DAY, 0, mine),
        ("no signed document", response(signed="none"), T0 + DAY, 0, mine),
        ("signed by another vendor", response(key=OTHER_VENDOR), T0 + DAY, 0, mine),
        ("its lease edited after signing", response(signed=json.loads(forged)), T0 + DAY, 0, mine),
        ("another machine's response", response(signed=signed(components=other_hw)), T0 + DAY, 0, mine),
        ("the signed document answers another request",
         response(signed=signed(offline={"activation": ACTIVATION, "request": "b3RoZXIgcmVxdWVzdA"})),
         T0 + DAY, 0, mine),
        ("the signed document names no activation", response(signed=signed(offline={"request": REQUEST_NONCE})),
         T0 + DAY, 0, mine),
        ("the credential sealed to another machine",
         response(sealed=_sealed({"device": DEVICE, "secret": SECRET}, box=OTHER_BOX)), T0 + DAY, 0, mine),
        ("the credential sealed for another request",
         response(sealed=_sealed({"device": DEVICE, "secret": SECRET}, context="b3RoZXIgcmVxdWVzdA")),
         T0 + DAY, 0, mine),
        ("the sealed credential changed", response(sealed={**_sealed({"device": DEVICE, "secret": SECRET}),
                                                           "ct": _text(b"\x00" * 40)}), T0 + DAY, 0, mine),
        ("the credential names another device",
         response(sealed=_sealed({"device": "dv_77aa00bb11cc22dd", "secret": SECRET})), T0 + DAY, 0, mine),
        ("the credential's secret not a token",
         response(sealed=_sealed({"device": DEVICE, "secret": "two\nlines"})), T0 + DAY, 0, mine),
    ]  # fmt: skip


def response_expected(case: dict[str, Any]) -> dict[str, Any]:
    fingerprint = Fingerprint(case["fingerprint"]["components"], case["fingerprint"]["data_path"], False)
    at = server_time(from_iso(case["now"]), case["offset_seconds"])
    try:
        document, _signed, credential, _entry = open_response(
            case["response"], product=case["product"], keys=trusted(case["pinned"]), fingerprint=fingerprint,
            pending=case["pending"], at=at,
        )  # fmt: skip
    except ResponseRefused as exc:
        return {"accepted": False, "refusal": exc.why, "credential": None, "activation": None, "status": None}
    status = status_of(document, at, online=False)
    return {
        "accepted": True,
        "refusal": None,
        "credential": list(credential),
        "activation": document["offline"]["activation"],
        "status": {"allowed": status.allowed, "state": status.state, "reason": status.reason,
                   "days_left": status.days_left, "features": list(status.features)},
    }  # fmt: skip


def expected(case: dict[str, Any]) -> dict[str, Any]:
    return request_expected(case) if case["mode"] == "request" else response_expected(case)


def cases() -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for name, inputs in _request_inputs():
        case: dict[str, Any] = {"name": name, "mode": "request", "inputs": inputs}
        case["expected"] = expected(case)
        out.append(case)
    box = private(BOX)
    for name, text, now, offset, nonces in _response_inputs():
        case = {
            "name": name, "mode": "response", "product": PRODUCT, "pinned": pinned(KEY_1),
            "fingerprint": {"components": dict(COMPONENTS), "data_path": DATA_PATH},
            "pending": [{"nonce": nonce, "box": box} for nonce in nonces], "now": to_iso(now),
            "offset_seconds": offset, "response": text,
        }  # fmt: skip
        case["expected"] = expected(case)
        out.append(case)
    return out
