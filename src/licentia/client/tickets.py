"""The installer ticket: the signed file a download carries beside the installer (``licentia-ticket.json``).

The vendor (or the portal, per download) mints it; the application passes its
path as ``Licentia(..., installer_ticket=PATH)`` and the SDK sends its text with
the first check only, when the installation has no credential yet. The server
starts the installation's token chain from it, and records another computer
starting from the same file as a copy of that download (docs/evidence.md).

What a client must refuse to send (the conformance vectors' ``installer_tickets``
rule, the same in every client): a file larger than :data:`MAX_TICKET_BYTES`,
not UTF-8 JSON, or not a signed installer ticket (an object with a ``document``
object of ``kind`` ``installer_ticket``, a ``kid`` string and a ``sig`` string).
Such a file is not sent and the first contact goes on without it (the log says
why): a damaged file must not stop the application. A well-formed file the
server refuses (forged, edited) is refused with ``invalid_installer_ticket``.
A missing file is no ticket.
"""

from __future__ import annotations

import os

TICKET_FILE = "licentia-ticket.json"
MAX_TICKET_BYTES = 4096


def ticket_problem(raw: bytes) -> str | None:
    """Why ``raw`` must not be sent as an installer ticket, or None when it may be."""
    if len(raw) > MAX_TICKET_BYTES:
        return f"larger than {MAX_TICKET_BYTES} bytes"
    import json  # only at a first contact with a ticket: json costs every other start

    try:
        signed = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return "not UTF-8 JSON"
    document = signed.get("document") if isinstance(signed, dict) else None
    if not isinstance(document, dict) or document.get("kind") != "installer_ticket":
        return "not an installer ticket"
    if not isinstance(signed.get("kid"), str) or not isinstance(signed.get("sig"), str):
        return "not a signed document"
    return None


def read_ticket(path: str | None) -> str | None:
    """The ticket's text to send at first contact, or None (no file, or one a client must not send)."""
    if not path:
        return None
    try:
        with open(path, "rb") as handle:
            raw = handle.read(MAX_TICKET_BYTES + 1)
    except OSError:
        return None  # no ticket beside this installation: a first contact as any other
    problem = ticket_problem(raw)
    if problem is not None:
        import logging

        logging.getLogger("licentia.client").warning("installer ticket %s not sent: %s", os.fspath(path), problem)
        return None
    return raw.decode("utf-8").strip()


def installer_ticket_field(path: str | None) -> dict[str, str]:
    """The first check's ``installer_ticket`` body field, when a ticket may be sent."""
    text = read_ticket(path)
    return {"installer_ticket": text} if text else {}
