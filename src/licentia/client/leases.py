"""Floating licenses in the SDK: ``lic.checkout(key)`` holds a seat while the application runs.

A :class:`Lease` keeps its seat with heartbeats from a daemon thread, at the
interval the server signed (a third of the lease time). The thread never
raises into the application: a network failure is retried until the lease's
end, a lease the server ended is checked out again (if a seat is free), and
whatever happens is told by :attr:`Lease.state` and :attr:`Lease.valid`.

Every lease document is verified before it is trusted, like a status document:
the product's pinned key, the product, ``type`` ``floating_lease`` and this
machine's hardware read afresh, so a document copied to another computer, or
edited, grants nothing. The last document is kept in ``data_dir/lease.json``:
a *borrowed* lease (``borrow_days``) works offline from it until its end, and
not after; the local clock is checked against the same rollback witnesses as
offline status checks.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from typing import TYPE_CHECKING, Any

from licentia.client._exceptions import (
    ConfigurationError,
    InvalidKey,
    LicentiaError,
    Offline,
    ServerRefused,
)
from licentia.client.answers import Asked
from licentia.client.fingerprint import take_fingerprint
from licentia.client.lease_documents import (
    forget_lease,
    kept_lease_id,
    lease_terms,
    read_kept,
    save_lease,
    usable_borrow,
    verified_answer,
)
from licentia.client.witnesses import latest_witness, parse_time, rolled_back
from licentia.core.answers import server_time
from licentia.core.clock import to_iso
from licentia.core.vocabulary import ClientErrorCode

if TYPE_CHECKING:
    from types import TracebackType

    from licentia.client._client import Licentia

# Never heartbeat more often than this, whatever a document says (a server's bug must not flood it).
MIN_HEARTBEAT_SECONDS = 0.05
# After a failed heartbeat, try again this much sooner than the regular interval.
RETRY_FRACTION = 4

ACTIVE, BORROWED, EXPIRED, LOST, RELEASED = "active", "borrowed", "expired", "lost", "released"
# Refusals after which heartbeats stop: only the vendor or the customer can change them.
_FINAL = frozenset(
    {
        ClientErrorCode.LICENSE_SUSPENDED,
        ClientErrorCode.LICENSE_REVOKED,
        ClientErrorCode.LICENSE_EXPIRED,
        ClientErrorCode.NOT_FLOATING,
        ClientErrorCode.INVALID_KEY,
    }
)


class Lease:
    """A floating seat held by this machine; use it as a context manager, or call :meth:`release`.

    ``state``: ``active`` (held, heartbeats running), ``borrowed`` (held for
    offline use until ``expires_at``), ``expired`` (no heartbeat reached the
    server before the lease's end), ``lost`` (the server ended the lease and
    no seat was free, or the license stopped allowing use: ``error`` says
    why), ``released``. ``valid`` is what the application checks.
    """

    def __init__(
        self, lic: Licentia, key: str | None, payload: dict[str, Any], signed: dict[str, Any], *, online: bool = True
    ) -> None:
        self._lic = lic
        self._key = key  # kept in memory only, to check out again when the server ended the lease
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._state = ACTIVE
        self._deadline = 0.0
        self.heartbeats = 0
        self.error: str | None = None
        self.online = online  # False: read from data_dir/lease.json (a borrow used offline)
        self._accept(payload, signed)

    # -- what the application reads ---------------------------------------------------------

    @property
    def valid(self) -> bool:
        """Whether the application may run now: a held lease whose end has not come."""
        with self._lock:
            return self.state in (ACTIVE, BORROWED) and time.monotonic() < self._deadline

    @property
    def state(self) -> str:
        with self._lock:
            if self._state in (ACTIVE, BORROWED) and time.monotonic() >= self._deadline:
                return EXPIRED
            return self._state

    def entitlement(self, name: str, default: Any = None) -> Any:
        """An entitlement's value while the lease is valid, else ``default``."""
        return self.entitlements.get(name, default) if self.valid else default

    def __repr__(self) -> str:
        return f"Lease(id={self.id!r}, state={self.state!r}, expires_at={self.expires_at.isoformat()!r})"

    # -- what the application does ------------------------------------------------------------

    def heartbeat(self) -> None:
        """Send one heartbeat now (the background thread does this by itself); raises the SDK's errors."""
        if self._state == RELEASED:
            raise ServerRefused(ClientErrorCode.LEASE_EXPIRED, "this lease was released", status=410)
        # The network call holds no lock: ``valid`` must answer at once while a heartbeat waits.
        payload, signed = _verified(self._lic, *lease_call(self._lic, f"/v1/leases/{self.id}/heartbeat"))
        with self._lock:
            if self._state != RELEASED:
                self.online = True
                self._accept(payload, signed)
                self.heartbeats += 1

    def release(self) -> None:
        """Return the seat now (also a borrowed one, early). Offline, the seat frees when the lease ends."""
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=self._lic.transport.timeout + 1)
        if self._state == RELEASED:
            return
        try:
            lease_call(self._lic, f"/v1/leases/{self.id}/release")
        except ServerRefused as exc:
            if exc.code != ClientErrorCode.UNKNOWN_LEASE:
                raise
        finally:
            with self._lock:
                self._state = RELEASED
            forget_lease(self._lic, self.id)

    def __enter__(self) -> Lease:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        """Leaving the block returns an ordinary lease; a borrowed one stays borrowed (return it with ``release``)."""
        if self._state == BORROWED:
            self._stop.set()
            return
        try:
            self.release()
        except LicentiaError as exc:  # offline at exit: the seat frees when the lease ends
            _log().warning("lease %s not released: %s", self.id, exc)

    # -- inside ---------------------------------------------------------------------------------

    def _accept(self, payload: dict[str, Any], signed: dict[str, Any]) -> None:
        """Take a verified document: from now on the lease lasts what the server signed (on the monotonic clock)."""
        expires, issued = payload["_expires"], payload["_issued"]
        # Online, the server's time says how long is left; offline (a stored borrow), the checked local
        # clock set right by the offset the last bound answer measured.
        terms = lease_terms(payload, issued if self.online else server_now(self._lic))
        self._deadline = time.monotonic() + terms.seconds_left
        self.id: str = terms.id
        self.expires_at: dt.datetime = expires
        self.borrowed: bool = terms.borrowed
        self._state = BORROWED if self.borrowed else ACTIVE
        self.error = None
        self.entitlements: dict[str, Any] = terms.entitlements
        self.features: tuple[str, ...] = terms.features
        self.heartbeat_seconds = terms.heartbeat_seconds
        save_lease(self._lic, signed)

    def start_heartbeats(self, every: float | None = None) -> None:
        """Start the daemon thread (``every``: seconds between heartbeats; default the signed interval)."""
        if self._thread is not None or self.borrowed:
            return
        interval = max(MIN_HEARTBEAT_SECONDS, every if every is not None else self.heartbeat_seconds)
        self._thread = threading.Thread(target=self._beat, args=(interval,), name="licentia-lease", daemon=True)
        self._thread.start()

    def _beat(self, interval: float) -> None:
        wait = interval
        while not self._stop.wait(wait):
            try:
                wait = interval if self._beat_once() else interval / RETRY_FRACTION
            except Exception as exc:  # a fault of ours: logged, never raised into the application
                _log().warning("lease heartbeat failed: %s: %s", type(exc).__name__, exc)
                wait = interval
            if self._state in (RELEASED,) or (self._state == LOST and self.error in _FINAL):
                return

    def _beat_once(self) -> bool:
        """One heartbeat (or a new checkout after the server ended the lease); True when the seat is held."""
        try:
            self.heartbeat()
            return True
        except Offline as exc:
            self.error = f"offline: {exc}"  # the lease holds until its end; retried sooner
            return False
        except ServerRefused as exc:
            if self._stop.is_set():
                return False
            if exc.code not in (ClientErrorCode.LEASE_EXPIRED, ClientErrorCode.UNKNOWN_LEASE):
                self._lost(exc)
                return False
        # The server ended the lease (it expired while offline, or the vendor freed it): take a seat again.
        if self._key is None:
            self._lost(ServerRefused(ClientErrorCode.LEASE_EXPIRED, "the lease ended", status=410))
            return False
        try:
            payload, signed = _verified(self._lic, *lease_call(self._lic, "/v1/leases", key=self._key))
        except ServerRefused as exc:
            self._lost(exc)
            return False
        except Offline as exc:
            self.error = f"offline: {exc}"
            return False
        with self._lock:
            if not self._stop.is_set():
                self.online = True
                self._accept(payload, signed)
        return True

    def _lost(self, exc: ServerRefused) -> None:
        with self._lock:
            if self._state != RELEASED:
                self._state = LOST
                self.error = exc.code


def checkout(lic: Licentia, key: str, *, borrow_days: int | None, heartbeats: bool) -> Lease:
    """Check out a seat; offline, a stored borrowed lease still valid. See ``Licentia.checkout``."""
    from licentia.core.licensekeys import KeyFormatError, normalize_key

    if borrow_days is not None and (type(borrow_days) is not int or not 1 <= borrow_days <= 365):
        raise ConfigurationError("borrow_days is a whole number of days from 1 to 365")
    try:
        key = normalize_key(key)
    except KeyFormatError as exc:  # a typo is caught here, before any network call
        raise InvalidKey(str(exc)) from exc
    try:
        answer, asked = lease_call(lic, "/v1/leases", key=key, borrow_days=borrow_days)
    except Offline:
        stored = stored_lease(lic)
        if stored is None or not stored.borrowed:
            raise
        return stored
    lease = Lease(lic, key, *_verified(lic, answer, asked))
    if heartbeats:
        lease.start_heartbeats()
    return lease


def lease_call(
    lic: Licentia, path: str, *, key: str | None = None, borrow_days: int | None = None
) -> tuple[Any, Asked]:
    """POST a lease call with this installation's credential (first contact if it has none yet).

    A credential the server no longer knows (a state restored from an old
    copy) is replaced once, as ``check()`` does. Each call sends a fresh nonce:
    the answer, and what it asked (``_verified`` binds the answer to it).
    """
    for attempt in (1, 2):
        credential = lic.credential()
        asked = Asked(lic.state_file.load())
        body: dict[str, Any] = {"nonce": asked.nonce}
        if key is not None:
            body.update(product=lic.product, key=key)
            if borrow_days is not None:
                body["borrow_days"] = borrow_days
        try:
            return lic.transport.request("POST", path, body=body, credential=credential), asked
        except ServerRefused as exc:
            if exc.code != ClientErrorCode.INVALID_CREDENTIAL or attempt == 2:
                raise
            lic.check()  # the server re-identifies this installation and issues a new credential
    raise Offline("unreachable")  # pragma: no cover - the loop returns or raises


def heartbeat_lease(lic: Licentia, lease_id: str | None = None) -> Lease:
    """One heartbeat of ``lease_id`` (default: the lease kept here), for processes that do not stay (the CLI)."""
    lease_id = _lease_id(lic, lease_id)
    return Lease(lic, None, *_verified(lic, *lease_call(lic, f"/v1/leases/{lease_id}/heartbeat")))


def release_lease(lic: Licentia, lease_id: str | None = None) -> str:
    """Return ``lease_id`` (default: the lease kept here); the lease's state as the server tells it."""
    lease_id = _lease_id(lic, lease_id)
    answer, _asked = lease_call(lic, f"/v1/leases/{lease_id}/release")
    forget_lease(lic, lease_id)
    state = answer.get("state") if isinstance(answer, dict) else None
    return state if isinstance(state, str) and state.isidentifier() else "released"


def _lease_id(lic: Licentia, lease_id: str | None) -> str:
    if lease_id is None:
        lease_id = kept_lease_id(lic)
        if lease_id is None:
            raise ConfigurationError("no lease is kept in the data directory: give the lease id")
    if not (lease_id.startswith("ls_") and len(lease_id) == 27 and all(c in "0123456789abcdef" for c in lease_id[3:])):
        raise ConfigurationError(f"not a lease id: {lease_id!r}")
    return lease_id


def _verified(lic: Licentia, answer: Any, asked: Asked) -> tuple[dict[str, Any], dict[str, Any]]:
    """The verified lease document of ``answer``, if it answers this request for this installation."""
    return verified_answer(answer, asked, lic.keys, product=lic.product, fingerprint=lic.fingerprint())


def stored_lease(lic: Licentia) -> Lease | None:
    """The lease kept in ``data_dir/lease.json`` if it verifies for this machine and has not ended, else None.

    Only a borrowed lease is meant to be used this way; the local clock is
    trusted only while no witness says it was wound back.
    """
    now = lic.clock.now()
    unverified = read_kept(lic)
    state = lic.state_file.load()
    at = server_time(now, state.clock_offset)
    last_seen = parse_time(state.last_seen)
    witness = latest_witness(last_seen, lic._witness_paths, state.file_clock_skew)
    if rolled_back(witness, now, lic.rollback_tolerance):
        return None  # the clock was wound back, to stretch a borrow
    if state.credential is not None and (last_seen is None or now > last_seen):
        state.last_seen = to_iso(now)  # a later winding back of the clock is caught against this
        lic._save(state)
    fingerprint = take_fingerprint(lic.product, lic._dir, lic.fingerprint_root, data_path=lic._data_path)
    if not isinstance(unverified, dict):
        return None
    payload = usable_borrow(unverified, lic.keys, product=lic.product, fingerprint=fingerprint, at=at)
    return None if payload is None else Lease(lic, None, payload, unverified, online=False)


def server_now(lic: Licentia) -> dt.datetime:
    """The server's time by the local clock and the offset the last bound answer measured."""
    return server_time(lic.clock.now(), lic.state_file.load().clock_offset)


def _log() -> Any:
    import logging

    return logging.getLogger("licentia.client")
