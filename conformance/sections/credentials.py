"""``credentials``: the device credential an answer carries outside the signature, kept or not.

The credential is not signed: only the server can tell a genuine one, so a client keeps it only
when it is short printable ASCII text naming the device the verified document names
(``client.status.credential_of`` and ``is_token``). A bad one costs a refused call, never a grant.
"""

from __future__ import annotations

from typing import Any

from licentia.client.status import credential_of

DEVICE = "dv_0f3a9c5e7b2d4a61"
SECRET = "s3cr3t-9Qx_v2.Lm~Z"  # noqa: S105 - a fixture, never a real secret


def _inputs() -> list[tuple[str, Any]]:
    """(name, the answer's ``credential`` member as parsed JSON)."""
    good = {"device": DEVICE, "secret": SECRET}
    return [
        ("well formed", good),
        ("secret of 200 characters", {**good, "secret": "s" * 200}),
        ("secret of 201 characters", {**good, "secret": "s" * 201}),
        ("secret with a space inside", {**good, "secret": "s3cr3t s3cr3t"}),
        ("secret with every printable ASCII character", {**good, "secret": "".join(map(chr, range(0x20, 0x7F)))}),
        ("secret ending in CR LF", {**good, "secret": SECRET + "\r\n"}),
        ("secret with a line feed inside", {**good, "secret": "s3cr3t\ns3cr3t"}),
        ("secret with a tab", {**good, "secret": "s3cr3t\ts3cr3t"}),
        ("secret with DEL", {**good, "secret": "s3cr3t\u007f"}),
        ("secret with a non-ASCII letter", {**good, "secret": "s3cr\u00e9t"}),
        ("secret with a non-BMP character", {**good, "secret": "s3cr3t\U0001f600"}),
        ("secret empty", {**good, "secret": ""}),
        ("secret null", {**good, "secret": None}),
        ("secret a number", {**good, "secret": 12345}),
        ("secret true", {**good, "secret": True}),
        ("secret a list", {**good, "secret": [SECRET]}),
        ("secret an object", {**good, "secret": {"value": SECRET}}),
        ("secret missing", {"device": DEVICE}),
        ("device of another installation", {**good, "device": "dv_77aa00bb11cc22dd"}),
        ("device with a trailing space", {**good, "device": DEVICE + " "}),
        ("device with a trailing line feed", {**good, "device": DEVICE + "\n"}),
        ("device a number", {**good, "device": 7}),
        ("device missing", {"secret": SECRET}),
        ("credential null", None),
        ("credential a string", f"{DEVICE}:{SECRET}"),
        ("credential a list", [DEVICE, SECRET]),
        ("credential empty", {}),
        ("extra members are ignored", {**good, "expires": "never"}),
    ]


def expected(case: dict[str, Any]) -> dict[str, Any]:
    """What the Python SDK keeps of the case's credential."""
    kept = credential_of({"credential": case["credential"]}, {"device": case["document_device"]})
    return {"valid": kept is not None, "credential": list(kept) if kept else None}


def cases() -> list[dict[str, Any]]:
    out = []
    for name, credential in _inputs():
        case: dict[str, Any] = {"name": name, "document_device": DEVICE, "credential": credential}
        case["expected"] = expected(case)
        out.append(case)
    return out
