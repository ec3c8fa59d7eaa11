"""Local state in ``data_dir/state.json``: one small file, written atomically.

Nothing in here is trusted for what it grants: the signed document is
re-verified on every offline use, so editing the file (to extend a lease, add
a feature, swap the status) only makes it invalid. A corrupt or unreadable file
is treated as absent, never as a crash: the next check goes online, and
offline a missing document grants nothing.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

STATE_FILE = "state.json"
_FORMAT = 1


@dataclass
class State:
    """What the SDK remembers between runs. Field values are *unverified* until used."""

    signed: dict[str, Any] | None = None  # the last signed status document, exactly as received
    credential: tuple[str, str] | None = None  # (device id, device secret) issued by the server
    token: str | None = None  # the current rotating token (copy tracking)
    install_reported: bool = False
    last_usage_report: str | None = None
    last_seen: str | None = None  # latest local time seen: a clock wound back below it is noticed
    fingerprint: dict[str, Any] | None = None  # cached, see licentia.client.fingerprint
    facts_opt_out: bool = False
    corrupt: bool = field(default=False, compare=False)  # the file existed but could not be read

    def to_json(self) -> bytes:
        body = {
            "format": _FORMAT,
            "signed": self.signed,
            "credential": list(self.credential) if self.credential else None,
            "token": self.token,
            "install_reported": self.install_reported,
            "last_usage_report": self.last_usage_report,
            "last_seen": self.last_seen,
            "fingerprint": self.fingerprint,
            "facts_opt_out": self.facts_opt_out,
        }
        return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()

    @classmethod
    def from_json(cls, raw: bytes) -> State:
        """Parse, keeping each field only if it has the expected shape."""
        try:
            body = json.loads(raw)
        except ValueError:
            return cls(corrupt=True)
        if not isinstance(body, dict) or body.get("format") != _FORMAT:
            return cls(corrupt=True)

        def text(name: str) -> str | None:
            value = body.get(name)
            return value if isinstance(value, str) else None

        cred = body.get("credential")
        credential = None
        if isinstance(cred, list) and len(cred) == 2 and all(isinstance(c, str) and c for c in cred):
            credential = (cred[0], cred[1])
        signed = body.get("signed")
        fingerprint = body.get("fingerprint")
        return cls(
            signed=signed if isinstance(signed, dict) else None,
            credential=credential,
            token=text("token"),
            install_reported=body.get("install_reported") is True,
            last_usage_report=text("last_usage_report"),
            last_seen=text("last_seen"),
            fingerprint=fingerprint if isinstance(fingerprint, dict) else None,
            facts_opt_out=body.get("facts_opt_out") is True,
        )


class StateFile:
    """Reads and atomically replaces ``state.json`` in a data directory."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.path = data_dir / STATE_FILE

    def load(self) -> State:
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return State()
        except OSError:
            return State(corrupt=True)
        return State.from_json(raw)

    def save(self, state: State) -> None:
        """Write to a temp file, fsync it, rename over the old file, fsync the directory.

        A crash or power loss leaves either the old or the new file, never half
        of one (which would lose the credential and make a new trial device).
        """
        self.data_dir.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".state-", suffix=".tmp", dir=self.data_dir)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(state.to_json())
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        _fsync_dir(self.data_dir)


def _fsync_dir(path: Path) -> None:
    if os.name != "posix":
        return  # Windows cannot open a directory; MoveFileEx is already durable enough there
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
