"""Local state in ``data_dir/state.json``: one small file, written atomically, bound by a MAC.

What the state holds (the signed document, the credential, the rotating token,
the last time seen, the event bookkeeping) is sealed with HMAC-SHA256 under a
key derived from the device secret the server issued with the credential. An
edited, truncated, nested, oversized or otherwise damaged file, or one whose
MAC does not match, is *no state*: offline it grants nothing
(``corrupt_state``), online the next check is a first contact. It never
crashes the SDK.

Before the server issued a credential there is no key, so nothing can be
sealed: such a file keeps only the user's facts opt-out, which restricts what
is sent and grants nothing. The opt-out is also honoured from a damaged file,
for the same reason.

What the MAC does not stop: the secret sits in this same file (the
application must be able to use it), so someone with full control of the
machine can read it and re-seal an edited state. What still holds then is
what the server signed: the document is re-verified with the pinned public key
on every use and must describe this machine's hardware, read afresh.
"""

from __future__ import annotations

import os
import stat

from licentia.core.canonical import dump_json, load_json
from licentia.core.digests import equal, hmac_sha256

TYPE_CHECKING = False  # typing is not imported: it would cost every application's start
if TYPE_CHECKING:
    import datetime as dt
    from collections.abc import Callable
    from typing import Any

STATE_FILE = "state.json"
QUEUE_FILE = "events.db"  # see licentia.client.events
_FORMAT = 2
# A genuine state is a few kilobytes; anything far larger is damage (or an attempt
# to make every start read and parse megabytes).
MAX_STATE_BYTES = 1 << 20
# The MAC key is HMAC-SHA256(device secret, label): the label keeps it apart from
# every other use of the secret (the server only ever sees the secret itself).
_MAC_LABEL = b"licentia-client state mac v1"


def state_mac(device: str, secret: str, body: bytes) -> str:
    """The seal over a state's body, keyed by the device secret (hex)."""
    return hmac_sha256(_mac_key(secret), device.encode() + b"\n" + body).hex()


_MAC_KEYS: dict[str, bytes] = {}  # one secret per installation: derived once per process, not per check


def _mac_key(secret: str) -> bytes:
    key = _MAC_KEYS.get(secret)
    if key is None:
        if len(_MAC_KEYS) >= 8:
            _MAC_KEYS.clear()
        key = _MAC_KEYS[secret] = hmac_sha256(secret.encode(), _MAC_LABEL)
    return key


def _sealed(device: str, secret: str, body: bytes, unverified_mac: str) -> bool:
    """Whether ``unverified_mac`` seals ``body``, compared in constant time."""
    try:
        tag = bytes.fromhex(unverified_mac)
    except ValueError:
        return False
    return equal(hmac_sha256(_mac_key(secret), device.encode() + b"\n" + body), tag)


class State:
    """What the SDK remembers between runs. Field values are *unverified* until used."""

    __slots__ = (
        "clock_offset",
        "corrupt",
        "credential",
        "escrowed",
        "facts_opt_out",
        "file_clock_skew",
        "install_reported",
        "last_seen",
        "last_usage_report",
        "resumed",
        "signed",
        "token",
    )  # fmt: skip

    def __init__(
        self,
        signed: dict[str, Any] | None = None,
        credential: tuple[str, str] | None = None,
        token: str | None = None,
        install_reported: bool = False,
        last_usage_report: str | None = None,
        last_seen: str | None = None,
        facts_opt_out: bool = False,
        corrupt: bool = False,
        clock_offset: int = 0,
        file_clock_skew: int = 0,
        escrowed: bool = False,
    ) -> None:
        self.signed = signed  # the last signed status document, exactly as received
        self.credential = credential  # (device id, device secret) issued by the server
        self.token = token  # the current rotating token (copy tracking)
        self.install_reported = install_reported
        self.last_usage_report = last_usage_report
        self.last_seen = last_seen  # latest local time seen: a clock wound back below it is noticed
        # Seconds from the local clock to the server's, measured on the last bound answer (core/answers.py).
        self.clock_offset = clock_offset
        # Seconds from the local clock to the file system's (file times are set by the kernel, or by a file
        # server): measured at each save, so file-time witnesses are read on the clock they were written with.
        self.file_clock_skew = file_clock_skew
        self.escrowed = escrowed  # the credential is also kept outside the data folder (escrow.py)
        self.resumed = False  # this run took the credential from the escrow (never saved: the next call has a token)
        self.facts_opt_out = facts_opt_out
        self.corrupt = corrupt  # the file existed but was damaged or edited

    def to_json(self) -> bytes:
        if self.credential is None:
            # Nothing to key a MAC with: keep only what restricts and never grants.
            return dump_json({"format": _FORMAT, "facts_opt_out": self.facts_opt_out}).encode()
        body = dump_json(
            {
                "signed": self.signed,
                "token": self.token,
                "install_reported": self.install_reported,
                "last_usage_report": self.last_usage_report,
                "last_seen": self.last_seen,
                "clock_offset": self.clock_offset,
                "file_clock_skew": self.file_clock_skew,
                "escrowed": self.escrowed,
                "facts_opt_out": self.facts_opt_out,
            }
        )
        device, secret = self.credential
        sealed = {
            "format": _FORMAT,
            "device": device,
            "secret": secret,
            "state": body,
            "mac": state_mac(device, secret, body.encode()),
        }
        return dump_json(sealed).encode()

    @classmethod
    def from_json(cls, raw: bytes) -> State:
        """Check the seal, then keep each field only if it has the expected shape."""
        try:
            outer = load_json(raw)
        except (ValueError, RecursionError):
            return cls(corrupt=True)
        if isinstance(outer, dict) and outer.get("format") == 1:
            return cls._from_unsealed(outer)
        if not isinstance(outer, dict) or outer.get("format") != _FORMAT:
            return cls(corrupt=True, facts_opt_out=_opted_out(outer))
        device, secret, body, mac = (outer.get(k) for k in ("device", "secret", "state", "mac"))
        if device is None and secret is None and body is None and mac is None:
            return cls(facts_opt_out=outer.get("facts_opt_out") is True)  # before the first credential
        if not all(isinstance(v, str) and v for v in (device, secret, body, mac)):
            return cls(corrupt=True, facts_opt_out=_opted_out(outer))
        assert isinstance(device, str) and isinstance(secret, str) and isinstance(body, str) and isinstance(mac, str)
        try:
            sealed = _sealed(device, secret, body.encode(), mac)
            fields = load_json(body) if sealed else None
        except (ValueError, RecursionError):
            fields = None
        if not isinstance(fields, dict):
            return cls(corrupt=True, facts_opt_out=_opted_out(outer))

        def text(name: str) -> str | None:
            value = fields.get(name)
            return value if isinstance(value, str) else None

        signed = fields.get("signed")
        offset, skew = fields.get("clock_offset"), fields.get("file_clock_skew")
        return cls(
            signed=signed if isinstance(signed, dict) else None,
            credential=(device, secret),
            token=text("token"),
            install_reported=fields.get("install_reported") is True,
            last_usage_report=text("last_usage_report"),
            last_seen=text("last_seen"),
            facts_opt_out=fields.get("facts_opt_out") is True,
            clock_offset=offset if type(offset) is int else 0,
            file_clock_skew=skew if type(skew) is int else 0,
            escrowed=fields.get("escrowed") is True,
        )

    @classmethod
    def _from_unsealed(cls, old: dict[str, Any]) -> State:
        """A state written by an SDK before seals (format 1), sealed at its next save.

        Dropping it would lose the credential, and the server gives a lost
        credential a new installation without the license. What is kept grants
        nothing by itself: the credential and the token are checked by the
        server, the document by its signature and this machine's hardware. The
        last time seen is not kept, since nothing vouched for it; the
        file-time witnesses still stand (see ``Licentia.check``).
        """
        cred, signed, token = old.get("credential"), old.get("signed"), old.get("token")
        if not (isinstance(cred, list) and len(cred) == 2 and all(isinstance(c, str) and c for c in cred)):
            return cls(facts_opt_out=old.get("facts_opt_out") is True)
        return cls(
            signed=signed if isinstance(signed, dict) else None,
            credential=(cred[0], cred[1]),
            token=token if isinstance(token, str) else None,
            install_reported=old.get("install_reported") is True,
            facts_opt_out=old.get("facts_opt_out") is True,
        )


def _opted_out(outer: Any) -> bool:
    """The user's opt-out, read even from a damaged file: honouring it can only send less."""
    if not isinstance(outer, dict):
        return False
    if outer.get("facts_opt_out") is True:
        return True
    body = outer.get("state")
    return isinstance(body, str) and '"facts_opt_out":true' in body


class StateFile:
    """Reads and atomically replaces ``state.json`` in a data directory."""

    def __init__(self, data_dir: str | os.PathLike[str]) -> None:
        self.data_dir = os.fspath(data_dir)
        self.path = os.path.join(self.data_dir, STATE_FILE)

    def load(self) -> State:
        try:
            # Non-blocking: a FIFO in its place must not hang the application's start.
            fd = os.open(self.path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
            with open(fd, "rb") as handle:
                info = os.fstat(fd)
                # Sized to the file: read(MAX_STATE_BYTES) would allocate a megabyte on every start.
                usable = stat.S_ISREG(info.st_mode) and info.st_size <= MAX_STATE_BYTES
                raw = handle.read(info.st_size + 1) if usable else b""
        except FileNotFoundError:
            return State()
        except OSError:  # a directory in its place, no permission, an I/O error
            return State(corrupt=True)
        if not raw or len(raw) > MAX_STATE_BYTES:
            return State(corrupt=True)
        return State.from_json(raw)

    def save(self, state: State, now: dt.datetime | None = None) -> None:
        """Write to a temp file, fsync it, rename over the old file, fsync the directory.

        A crash or power loss leaves either the old or the new file, never half
        of one (which would lose the credential and make a first contact).
        Something other than a file in the way (a directory) is moved aside.
        With ``now`` (the local clock), the file system's clock is measured
        against it on the new file (``state.file_clock_skew``).
        """
        os.makedirs(self.data_dir, exist_ok=True)
        if os.path.lexists(self.path) and not os.path.isfile(self.path):
            move_aside(self.path, "the state file")

        def content(fd: int) -> bytes:
            if now is not None:
                skew = round(os.fstat(fd).st_mtime - now.timestamp())
                state.file_clock_skew = skew if -_MAX_SKEW <= skew <= _MAX_SKEW else 0
            return state.to_json()

        write_private_file(self.path, content, prefix=".state-")
        _fsync_dir(self.data_dir)


_MAX_SKEW = 100 * 366 * 86400  # beyond a century: nonsense, read as none
# tempfile.mkstemp's flags: a new file only this user reads (0600), never through a planted symlink.
_NEW_FILE_FLAGS = (
    os.O_RDWR | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    | getattr(os, "O_BINARY", 0)
)  # fmt: skip


def write_private_file(path: str, data: bytes | Callable[[int], bytes], *, prefix: str) -> None:
    """Replace ``path`` atomically with a new file only this user reads (0600).

    Written to a temp file beside it (``prefix``, never through a planted
    link), fsynced, renamed over ``path``: a crash or power loss leaves the
    old file or the new one, never half of one. ``data`` may be a function of
    the new file's descriptor, for content that depends on the file itself.
    """
    fd, tmp = _new_file(os.path.dirname(path), prefix, ".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data(fd) if callable(data) else data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:  # noqa: SIM105 - contextlib would cost every start that saves its state
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _new_file(directory: str, prefix: str, suffix: str) -> tuple[int, str]:
    """``tempfile.mkstemp(prefix, suffix, dir=directory)``, without importing ``tempfile`` (and
    ``random``, ``shutil``, ``weakref``) into an application's start that saves its last-seen time."""
    for _ in range(100):
        path = os.path.join(directory, f"{prefix}{os.urandom(8).hex()}{suffix}")
        try:
            return os.open(path, _NEW_FILE_FLAGS, 0o600), path
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temporary name in {directory}")


def move_aside(path: str, what: str) -> str:
    """Rename a damaged file (or whatever is in its place) for inspection, and say so once in the log."""
    import datetime as dt
    import logging

    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
    target = f"{path}.damaged-{stamp}"
    os.replace(path, target)
    name = os.path.basename(target)
    logging.getLogger("licentia.client").warning("%s %s was damaged; moved aside to %s", what, path, name)
    return target


def _fsync_dir(path: str) -> None:
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
