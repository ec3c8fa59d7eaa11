"""``installer_tickets``: which ``licentia-ticket.json`` files a client sends at first contact.

A client sends the file's text, unchanged, as the first check's ``installer_ticket`` only when it
is at most 4,096 bytes of UTF-8 JSON shaped as a signed installer ticket
(``licentia.client.tickets.ticket_problem``). It never verifies the signature: the server does, and
refuses a forged or edited ticket with ``invalid_installer_ticket``.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from licentia.client.tickets import MAX_TICKET_BYTES, ticket_problem
from licentia.core.clock import to_iso
from sections.common import PRODUCT, T0, seeded_key


def _files() -> dict[str, bytes]:
    key = seeded_key("installer-ticket")
    document = {"kind": "installer_ticket", "product": PRODUCT, "ticket": "it_0c1d2e3f4a5b6c7d8e9f",
                "source": "portal", "release": "2.1.0", "license": 12, "customer": 7,
                "token": {"key": "k" * 32, "usage": 0}, "issued_at": to_iso(T0)}  # fmt: skip
    genuine = key.sign(document)
    status = json.loads(genuine)
    status["document"]["kind"] = "status"
    return {
        "genuine": genuine,
        "edited_still_sent": genuine.replace(b'"license":12', b'"license":13'),
        "exactly_the_limit": genuine + b" " * (MAX_TICKET_BYTES - len(genuine)),
        "one_byte_too_large": genuine + b" " * (MAX_TICKET_BYTES + 1 - len(genuine)),
        "not_utf8": b"\xff\xfe" + genuine,
        "not_json": genuine[:-20],
        "a_json_array": b"[" + genuine + b"]",
        "a_status_document": json.dumps(status).encode(),
        "no_signature": json.dumps({"document": document, "kid": key.kid}).encode(),
        "empty": b"",
    }


def expected(case: dict[str, Any]) -> dict[str, Any]:
    """Whether the Python SDK sends the file, and why not."""
    problem = ticket_problem(base64.b64decode(case["file_base64"]))
    return {"send": problem is None, "problem": problem}


def cases() -> list[dict[str, Any]]:
    out = []
    for name, raw in _files().items():
        case: dict[str, Any] = {"name": name, "file_base64": base64.b64encode(raw).decode("ascii")}
        case["expected"] = expected(case)
        out.append(case)
    return out
