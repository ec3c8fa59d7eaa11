"""``Licentia``: the object an application creates once and asks ``check()``.

Start-up is paid on every launch of every customer's application, so this
module and the ones it imports do no work at import, and the offline path
imports only what it uses: the network (``urllib``, ``ssl``), the event queue
(``sqlite3``), client facts and logging are imported when first needed.
"""

from __future__ import annotations

import os
import time

from licentia.client._airgapped import AirGapped
from licentia.client._exceptions import ConfigurationError, InvalidKey, Offline, ServerRefused
from licentia.client._reports import Reports
from licentia.client._seats import SeatsAndMeters
from licentia.client._value import FlushResult
from licentia.client.answers import Asked
from licentia.client.fingerprint import Fingerprint, absolute_path, take_fingerprint
from licentia.client.state import QUEUE_FILE, State, StateFile
from licentia.client.status import (
    Status,
    denied,
    pinned_keys,
    release_of,
    status_of,
    verify_for_installation,
)
from licentia.client.tickets import installer_ticket_field
from licentia.client.transport import Transport
from licentia.client.witnesses import latest_witness, parse_time, rolled_back, seen, witness_paths
from licentia.core.answers import server_time
from licentia.core.clock import Clock, SystemClock, to_iso
from licentia.core.fingerprint import data_path_hash
from licentia.core.signing import InvalidDocument
from licentia.core.status import DEFAULT_ROLLBACK_TOLERANCE, REGISTERED

TYPE_CHECKING = False  # typing is not imported: it would cost every application's start
if TYPE_CHECKING:
    import datetime as dt
    from collections.abc import Iterable, Sequence
    from pathlib import Path
    from typing import Any

    from licentia.client.escrow import Escrow
    from licentia.client.events import EventQueue
    from licentia.client.values import Values

DEFAULT_TIMEOUT = 3.0


class Licentia(AirGapped, Reports, SeatsAndMeters):
    """Licensing for one product inside one application.

    ``Licentia(server_url, product, public_key)`` pins the product's public key
    (``ed25519:<kid>:<key>``, or a list during a key rotation); nothing signed
    by any other key, including another product's, is ever trusted.
    """

    def __init__(
        self,
        server_url: str,
        product: str,
        public_key: str | Iterable[str],
        data_dir: str | os.PathLike[str] | None = None,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        clock: Clock | None = None,
        facts: bool | Iterable[str] = False,
        authors: Sequence[str] = (),
        trackers: Sequence[str] = (),
        app_version: str | None = None,
        channel: str = "stable",
        rollback_tolerance: dt.timedelta = DEFAULT_ROLLBACK_TOLERANCE,
        fingerprint_root: str | os.PathLike[str] | None = None,
        installer_ticket: str | os.PathLike[str] | None = None,
    ) -> None:
        if not product or not product.replace("-", "").isalnum() or product != product.lower():
            raise ConfigurationError(f"not a product slug: {product!r}")
        self.product = product
        self.keys = pinned_keys(public_key)
        if data_dir is None:
            from licentia.client.dirs import user_data_dir  # platformdirs' folder, without its imports

            data_dir = user_data_dir(product)
        self._dir = absolute_path(data_dir)  # a string: pathlib costs the start more than it gives
        self._data_path = data_path_hash(product, self._dir)  # hashed once, not per offline check
        self.clock: Clock = clock or SystemClock()
        self.app_version = app_version
        self.channel = channel
        self.rollback_tolerance = rollback_tolerance
        self.fingerprint_root = os.fspath(fingerprint_root) if fingerprint_root else None
        self.installer_ticket = os.fspath(installer_ticket) if installer_ticket else None  # sent at first contact
        self.transport = Transport(server_url, timeout=timeout)  # refuses a malformed URL now
        self.state_file = StateFile(self._dir)
        self._witness_paths = witness_paths(self._dir, self.state_file.path, os.path.join(self._dir, QUEUE_FILE))
        self._fact_names: tuple[str, ...] = ()
        self._authors, self._trackers = tuple(authors), tuple(trackers)
        if facts is not False or self._authors or self._trackers:  # the names load only for an app that sends facts
            from licentia.core.facts import chosen_facts

            try:  # refused now, without reading any fact (that waits for the first online call)
                self._fact_names = chosen_facts(facts, self._authors, self._trackers)
            except ValueError as exc:
                raise ConfigurationError(str(exc)) from None
        self._facts: dict[str, str] | None = None
        self._queue: EventQueue | None = None
        self._values: Values | None = None

    @property
    def queue(self) -> EventQueue:
        """The durable event queue (``data_dir/events.db``), opened when first used: an offline start never is."""
        if self._queue is None:
            from licentia.client.events import EventQueue

            self._queue = EventQueue(self._dir)
        return self._queue

    @property
    def values(self) -> Values:
        """The server's value store for this device (``lic.values.get/set``)."""
        if self._values is None:
            from licentia.client.values import Values

            self._values = Values(self)
        return self._values

    @property
    def data_dir(self) -> Path:
        """Where this installation's state and event queue live (absolute)."""
        from pathlib import Path

        return Path(self._dir)

    # -- public API ------------------------------------------------------------

    def check(self, *, online: bool = True) -> Status:
        """This installation's status: from the server when it answers in time, else the stored document."""
        now = self.clock.now()
        state = self.state_file.load()
        if online:
            deadline = time.monotonic() + self.transport.timeout
            try:
                status = self._device_call("/v1/check", state, now, deadline)
            except (Offline, ServerRefused):
                # The server is unreachable, refuses, or answered something unverifiable: decide on the
                # stored state (the call may have dropped a voided credential from ``state`` in memory).
                state = self.state_file.load()
            else:
                try:
                    self._after_online_check(state, now, deadline)
                except ConfigurationError as exc:  # an unusable event queue must not stop the start
                    _log().warning("events not queued: %s", exc)
                return status
        return self._check_offline(state, now)

    def activate(self, key: str) -> Status:
        """Redeem a license key on this device. A typo raises :class:`InvalidKey` before any network call."""
        from licentia.core.licensekeys import KeyFormatError, key_prefix, normalize_key
        from licentia.core.vocabulary import EventKind

        now = self.clock.now()
        try:
            key = normalize_key(key)
        except KeyFormatError as exc:
            # Evidence of a key typed here; only the prefix, never a whole key.
            typed = "".join(ch for ch in key.upper() if ch.isalnum())
            try:
                typo = {"key_prefix": key_prefix(typed), "result": "typo"}
                self.queue.add(EventKind.REGISTER, now, typo, self.facts())
            except ConfigurationError as queue_error:  # the typo is what the caller must hear about
                _log().warning("evidence of a mistyped key not queued: %s", queue_error)
            raise InvalidKey(str(exc)) from exc
        state = self.state_file.load()
        deadline = time.monotonic() + self.transport.timeout
        status = self._device_call("/v1/activate", state, now, deadline, key=key)
        self._flush(state, deadline)
        return status

    def move_from(self, old_data_dir: str | os.PathLike[str]) -> Status:
        """Adopt the installation of a previous data folder on this computer (a new version's new data path)."""
        from licentia.client.moves import move_from

        return move_from(self, old_data_dir)

    def deactivate(self) -> Status:
        """Free this device's seat on its license (it keeps whatever trial it had left)."""
        now = self.clock.now()
        state = self.state_file.load()
        deadline = time.monotonic() + self.transport.timeout
        return self._device_call("/v1/deactivate", state, now, deadline)

    def latest_release(self) -> dict[str, Any] | None:
        """The newest release on this app's channel (``newer`` tells if it beats ``app_version``)."""
        query = {"product": self.product, "channel": self.channel}
        if self.app_version:
            query["current"] = self.app_version
        # A release is shown to the user: only its known fields, and a download link only over https.
        return release_of(self.transport.request("GET", "/v1/releases/latest", query=query))

    def flush(self, timeout: float | None = None) -> FlushResult:
        """Send queued events now, for at most ``timeout`` seconds (default: the SDK's timeout)."""
        state = self.state_file.load()
        deadline = time.monotonic() + (self.transport.timeout if timeout is None else timeout)
        if state.credential is None:
            try:
                self._device_call("/v1/check", state, self.clock.now(), deadline)
            except (Offline, ServerRefused):
                return FlushResult(0, 0, 0, self.queue.count())
        return self._flush(state, deadline)

    def fingerprint(self) -> Fingerprint:
        """Read this machine's fingerprint now (what the next online check will send)."""
        return take_fingerprint(self.product, self._dir, self.fingerprint_root, data_path=self._data_path)

    def opt_out_of_facts(self, opt_out: bool = True) -> None:
        """The user's choice, kept in the state file: no facts are sent while set."""
        state = self.state_file.load()
        state.facts_opt_out = opt_out
        try:
            self.state_file.save(state)
        except OSError as exc:
            raise ConfigurationError(f"cannot write the state in {self._dir}: {exc}") from exc
        self._facts = None

    def facts(self) -> dict[str, str]:
        """The client facts this app sends (empty unless enabled and not opted out)."""
        if self._facts is None:
            from licentia.client.facts import collect_facts, facts_disabled_by_environment

            enabled = bool(self._fact_names or self._authors or self._trackers)
            if not enabled or facts_disabled_by_environment() or self.state_file.load().facts_opt_out:
                self._facts = {}
            else:
                self._facts = collect_facts(self._fact_names, authors=self._authors, trackers=self._trackers)
        return self._facts

    def credential(self) -> tuple[str, str]:
        """This device's credential, asking the server for one at first contact."""
        state = self.state_file.load()
        if state.credential is None:
            self._device_call("/v1/check", state, self.clock.now(), time.monotonic() + self.transport.timeout)
        if state.credential is None:
            raise Offline("no device credential yet")
        return state.credential

    # -- online ------------------------------------------------------------------

    def _body(self, fingerprint: Fingerprint, state: State, **extra: Any) -> dict[str, Any]:
        from licentia.client.facts import os_description

        return {
            "product": self.product,
            "fingerprint": fingerprint.to_request(),
            "token": state.token,
            "app_version": self.app_version,
            "os": os_description(),
            "channel": self.channel,
            "facts": self.facts(),
            **({"resumed": True} if state.resumed and state.token is None else {}),
            **({} if state.credential else installer_ticket_field(self.installer_ticket)),
            **extra,
        }

    def _device_call(self, path: str, state: State, now: dt.datetime, deadline: float, **extra: Any) -> Status:
        """POST a device call, verify and store the answer. Mutates and saves ``state``."""
        fingerprint = self.fingerprint()  # read afresh on every call, online and offline
        if state.credential is None:
            self._resume(state)
        if path != "/v1/check" and state.credential is None:
            self._device_call("/v1/check", state, now, deadline)  # first contact issues the credential
        try:
            answer, asked = self._post(path, fingerprint, state, deadline, **extra)
        except ServerRefused as exc:
            from licentia.core.vocabulary import ClientErrorCode

            if exc.code != ClientErrorCode.INVALID_CREDENTIAL or state.credential is None:
                raise
            # The secret is void (the server re-identified us elsewhere, or the
            # state was restored from an old copy): drop it and come as a first
            # contact; the server's answer is a new installation (no license) on
            # this machine, and the application must activate again. Once only.
            state.credential, state.install_reported, state.resumed = None, False, False
            if path != "/v1/check":
                self._device_call("/v1/check", state, now, deadline)
            answer, asked = self._post(path, fingerprint, state, deadline, **extra)
        return self._accept(answer, asked, state, fingerprint)

    def _resume(self, state: State) -> None:
        """No credential in the data folder: a reinstall resumes its installation from the escrow (escrow.py).

        The server answers such a check (credential, no token) as the same
        installation on this machine; the installation was reported when it
        was first installed, so no ``install`` event is queued for it again.
        """
        credential = self.escrow.load()
        if credential is not None:
            state.credential, state.token, state.install_reported, state.escrowed = credential, None, True, True
            state.resumed = True

    @property
    def escrow(self) -> Escrow:
        """This installation's credential kept outside the data folder (``escrow.py``)."""
        from licentia.client.escrow import Escrow

        return Escrow(self.transport.server_url, self.product, self._data_path)

    def _post(
        self, path: str, fingerprint: Fingerprint, state: State, deadline: float, **extra: Any
    ) -> tuple[Any, Asked]:
        """POST with a fresh nonce: the answer, and what this request asked (to bind the answer to it)."""
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise Offline("no time left before the timeout")
        asked = Asked(state)
        body = self._body(fingerprint, state, nonce=asked.nonce, **extra)
        answer = self.transport.request("POST", path, body=body, credential=state.credential, timeout=remaining)
        return answer, asked

    def _accept(self, answer: Any, asked: Asked, state: State, fingerprint: Fingerprint) -> Status:
        """Verify the server's answer and that it answers this request, then store it (``answers.accept``)."""
        from licentia.client.answers import accept

        return accept(self, answer, asked, state, fingerprint)

    def _after_online_check(self, state: State, now: dt.datetime, deadline: float) -> None:
        from licentia.client.trail import usage_due
        from licentia.core.vocabulary import EventKind  # online: enum is loaded by then

        payload = state.signed["document"] if state.signed else {}
        changed = False
        if not state.install_reported:
            self.queue.add(EventKind.INSTALL, now, {"app_version": self.app_version}, self.facts())
            state.install_reported, changed = True, True
        if payload.get("status") == REGISTERED and usage_due(payload, state.last_usage_report, now):
            self.queue.add(EventKind.USAGE, now, {"app_version": self.app_version}, self.facts())
            state.last_usage_report, changed = to_iso(now), True
        if changed:
            self._save(state)
        self._flush(state, deadline)

    def _flush(self, state: State, deadline: float) -> FlushResult:
        try:
            # The vendor's proxy-log trail (client/trail.py), as the last signed document asks.
            trail = self.product if state.signed and state.signed["document"].get("proxy_trail") is True else None
            return self.queue.flush(self.transport, state.credential, deadline=deadline, trail=trail)
        except ServerRefused:
            return FlushResult(0, 0, 0, self.queue.count())

    def _save(self, state: State) -> bool:
        """Save the state (True when written); a data directory that cannot be written must not stop the app.

        The answer was genuine and is used for this run (its status says ``unsaved``); it is lost
        for the next one (which goes online again), and the log says why.
        """
        try:
            self.state_file.save(state, self.clock.now())
        except OSError as exc:
            _log().warning("cannot write the licensing state in %s: %s", self._dir, exc)
            return False
        return True

    # -- offline -----------------------------------------------------------------

    def _check_offline(self, state: State, now: dt.datetime) -> Status:
        if state.signed is None:
            return denied("corrupt_state" if state.corrupt else "no_document")
        witness = latest_witness(parse_time(state.last_seen), self._witness_paths, state.file_clock_skew)
        if rolled_back(witness, now, self.rollback_tolerance):
            # The clock was wound back, to stretch a trial or a lease.
            return denied("clock_rollback", state="clock_rollback")
        # The hardware is read now, never taken from the data directory: a state
        # copied to other hardware (whatever its fields say) matches nothing here.
        fingerprint = take_fingerprint(
            self.product, self._dir, self.fingerprint_root, data_path=self._data_path, virtual=False
        )
        server_now = server_time(now, state.clock_offset)  # the local clock, set right by the last bound answer
        try:
            payload = verify_for_installation(
                state.signed, self.keys, product=self.product, fingerprint=fingerprint, at_time=server_now
            )
        except InvalidDocument:
            return denied("invalid_document")
        last_seen = parse_time(state.last_seen)
        if (later := seen(last_seen, now, answered=False)) != last_seen:
            state.last_seen = to_iso(later)
            self._save(state)  # a read-only data dir must not stop the app; rollback detection is weaker then
        return status_of(payload, server_now, online=False)


def _log() -> Any:
    import logging  # only when something goes wrong: logging costs a start that never logs

    return logging.getLogger("licentia.client")
