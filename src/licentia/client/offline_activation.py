"""Air-gapped activation on the machine: write a request, install the response, write a deactivation proof.

A machine with no network activates in three steps (docs/licensing-models.md):

1. :func:`write_request` makes two key pairs for this installation, an X25519
   one (the vendor seals the installation's credential to it) and an Ed25519
   one (it signs the request now and the deactivation proof later), keeps the
   private halves in ``data_dir/offline.json`` and returns the request text;
2. the vendor turns the request into a response (admin UI, developer API,
   ``licentia license offline-activate``, or the customer portal);
3. :func:`install_response` accepts it only if it answers a request this
   installation made, its status document verifies with the pinned key and
   names this machine's hardware read now, and its credential opens with the
   private key kept in step 1. It then becomes the installation's state, so
   ``check(online=False)`` answers from it until its lease ends, and a later
   online check continues with the credential and token it brought.

``offline.json`` is created 0600 and holds private keys in the clear, as
``state.json`` holds the device secret: the application must use them without
asking anyone, and the account's file permissions are what protects both.
What the keys buy a thief is bounded: a response works only on the hardware
it names, and a proof only frees a seat.
"""

from __future__ import annotations

import contextlib
import json
import os
from typing import TYPE_CHECKING, Any

from licentia.client._exceptions import ConfigurationError, InvalidAnswer, InvalidKey
from licentia.client.state import State
from licentia.client.status import Status, is_token, status_of, verify_for_installation
from licentia.core.answers import server_time
from licentia.core.clock import to_iso
from licentia.core.signing import InvalidDocument

if TYPE_CHECKING:
    from licentia.client._client import Licentia


def _airgap() -> Any:
    """``licentia.core.airgap``, loaded by the first air-gapped call: an application's start never pays for it."""
    from licentia.core import airgap

    return airgap


OFFLINE_FILE = "offline.json"
_FORMAT = 1
# Requests written and not yet answered; the oldest is forgotten beyond this.
MAX_PENDING = 8
_MAX_BYTES = 64 * 1024


def _load(lic: Licentia) -> dict[str, Any]:
    """The offline keys file; damaged or missing, an empty one (it only ever restricts what installs)."""
    empty: dict[str, Any] = {"format": _FORMAT, "pending": [], "activation": None, "proof": None}
    path = os.path.join(lic.data_dir, OFFLINE_FILE)
    try:
        with open(path, "rb") as handle:
            raw = handle.read(_MAX_BYTES + 1)
        found = json.loads(raw) if len(raw) <= _MAX_BYTES else None
    except (OSError, ValueError, RecursionError):
        return empty
    if not isinstance(found, dict) or found.get("format") != _FORMAT:
        return empty
    pending = found.get("pending")
    activation = found.get("activation")
    proof = found.get("proof")
    return {
        "format": _FORMAT,
        "pending": [p for p in pending if isinstance(p, dict)] if isinstance(pending, list) else [],
        "activation": activation if isinstance(activation, dict) else None,
        "proof": proof if isinstance(proof, str) else None,
    }


def _save(lic: Licentia, keys: dict[str, Any]) -> None:
    """Write atomically; the temporary file is created 0600 (``mkstemp``), so keys are never readable by others."""
    import tempfile

    directory = os.fspath(lic.data_dir)
    try:
        os.makedirs(directory, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".offline-", suffix=".tmp", dir=directory)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(json.dumps(keys, separators=(",", ":")).encode())
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, os.path.join(directory, OFFLINE_FILE))
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
    except OSError as exc:
        raise ConfigurationError(f"cannot write the offline activation keys in {directory}: {exc}") from exc


def write_request(lic: Licentia, key: str) -> str:
    """The text of a new activation request for license ``key`` (a typo raises :class:`InvalidKey`)."""
    airgap = _airgap()
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

    from licentia.client.facts import os_description
    from licentia.core.licensekeys import KeyFormatError, normalize_key

    try:
        key = normalize_key(key)
    except KeyFormatError as exc:
        raise InvalidKey(str(exc)) from exc
    box, proof = X25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    nonce, now = airgap.new_nonce(), to_iso(lic.clock.now())
    text = request_text(
        product=lic.product, key=key, fingerprint=lic.fingerprint().to_request(), nonce=nonce, created_at=now,
        box=box, proof=proof, app_version=lic.app_version, os=os_description(),
    )  # fmt: skip
    keys = _load(lic)
    entry = {"nonce": nonce, "box": airgap.private_text(box), "proof": airgap.private_text(proof), "created_at": now}
    keys["pending"] = [*keys["pending"], entry][-MAX_PENDING:]
    _save(lic, keys)
    return text


def request_text(
    *, product: str, key: str, fingerprint: dict[str, Any], nonce: str, created_at: str, box: Any, proof: Any,
    app_version: str | None, os: str,
) -> str:  # fmt: skip
    """The request file: its claim signed with the machine's new Ed25519 key (``proof``), armored.

    The same inputs give the same bytes in every SDK: canonical JSON, unpadded base64url in
    lines of 64, between the BEGIN and END lines (``core.airgap.armor``).
    """
    airgap = _airgap()
    claim = {
        "v": airgap.FORMAT,
        "kind": "activation_request",
        "product": product,
        "key": key,
        "fingerprint": fingerprint,
        "nonce": nonce,
        "created_at": created_at,
        "box_key": airgap.public_text(box),
        "proof_key": airgap.public_text(proof),
        "app_version": app_version,
        "os": os,
    }
    return str(airgap.signed_claim(airgap.REQUEST, claim, proof))


class ResponseRefused(Exception):
    """An activation response this installation does not install; ``why`` names the rule (conformance).

    ``install_response`` raises it to the application as :class:`InvalidAnswer`.
    """

    def __init__(self, why: str, message: str) -> None:
        super().__init__(message)
        self.why = why


def open_response(
    text: str | bytes, *, product: str, keys: Any, fingerprint: Any, pending: list[dict[str, Any]], at: Any
) -> tuple[dict[str, Any], dict[str, Any], tuple[str, str], dict[str, Any]]:
    """A response to one of the ``pending`` requests, verified for this machine at ``at``.

    ``(verified document, signed document, credential, the pending entry it answers)``; else
    :class:`ResponseRefused`, in the order the rules are applied here.
    """
    airgap = _airgap()
    try:
        unverified = airgap.unarmor(airgap.RESPONSE, text)
    except airgap.InvalidOfflineFile as exc:
        raise ResponseRefused("not_a_response", f"not an activation response: {exc}") from exc
    nonce = unverified.get("request")
    if unverified.get("v") != airgap.FORMAT:
        raise ResponseRefused("unknown_version", "this activation response is damaged or of an unknown version")
    if unverified.get("product") != product:
        raise ResponseRefused("other_product", "this activation response is for another product")
    entry = next((p for p in pending if isinstance(nonce, str) and p.get("nonce") == nonce), None)
    if entry is None or not isinstance(nonce, str):
        raise ResponseRefused(
            "unknown_request", "this activation response answers a request this installation did not write"
        )
    signed = unverified.get("signed")
    if not isinstance(signed, dict):
        raise ResponseRefused("invalid_document", "the activation response carries no signed document")
    try:
        # The hardware is read now: a response carried to another machine names other components.
        payload = verify_for_installation(signed, keys, product=product, fingerprint=fingerprint, at_time=at)
    except InvalidDocument as exc:
        raise ResponseRefused(
            "invalid_document", f"the activation response does not verify for this machine: {exc}"
        ) from exc
    offline = payload.get("offline")
    if not isinstance(offline, dict) or offline.get("request") != nonce or not is_token(offline.get("activation")):
        raise ResponseRefused("other_request", "the signed document answers another request")
    try:
        box = airgap.load_box_key(entry.get("box"))
        opened = json.loads(airgap.unseal(unverified.get("sealed"), box, nonce.encode()))
    except (airgap.InvalidOfflineFile, ValueError) as exc:
        raise ResponseRefused(
            "sealed_elsewhere", f"the activation response's credential does not open here: {exc}"
        ) from exc
    device, secret = (opened.get("device"), opened.get("secret")) if isinstance(opened, dict) else (None, None)
    if device != payload.get("device") or not is_token(device) or not is_token(secret):
        raise ResponseRefused("other_installation", "the activation response's credential names another installation")
    return payload, signed, (str(device), str(secret)), entry


def install_response(lic: Licentia, text: str | bytes) -> Status:
    """Install a response to one of this installation's requests; anything else raises :class:`InvalidAnswer`."""
    now = lic.clock.now()
    keys = _load(lic)
    previous = lic.state_file.load()
    at = server_time(now, previous.clock_offset)  # the local clock, set right by the last online answer if any
    try:
        payload, signed, credential, pending = open_response(
            text, product=lic.product, keys=lic.keys, fingerprint=lic.fingerprint(), pending=keys["pending"], at=at
        )
    except ResponseRefused as exc:
        raise InvalidAnswer(str(exc)) from exc
    token = payload.get("token")
    state = State(
        signed=signed,
        credential=credential,
        token=token if is_token(token) else None,
        last_seen=to_iso(now),
        facts_opt_out=previous.facts_opt_out,
        clock_offset=previous.clock_offset,
    )
    keys["pending"] = [p for p in keys["pending"] if p is not pending]
    keys["activation"] = {
        "id": payload["offline"]["activation"],
        "device": credential[0],
        "proof": pending.get("proof"),
    }
    keys["proof"] = None
    _save(lic, keys)
    try:
        lic.state_file.save(state, now)
    except OSError as exc:
        raise ConfigurationError(f"cannot write the state in {lic.data_dir}: {exc}") from exc
    return status_of(payload, at, online=False)


def write_proof(lic: Licentia) -> str:
    """End this installation's offline activation and return the proof that frees its seat.

    The local activation is removed before the proof is returned, and the
    proof is kept, so that calling again (the first file was lost) gives the
    same proof and never a second activation's worth of use.
    """
    airgap = _airgap()
    keys = _load(lic)
    activation = keys["activation"]
    if activation is None:
        if keys["proof"]:
            return str(keys["proof"])
        raise ConfigurationError("this installation holds no offline activation to deactivate")
    try:
        signer = airgap.load_signing_key(activation.get("proof"))
    except airgap.InvalidOfflineFile as exc:
        raise ConfigurationError("the offline activation keys are damaged: deactivate online instead") from exc
    claim = {
        "v": airgap.FORMAT,
        "kind": "deactivation_proof",
        "product": lic.product,
        "activation": activation.get("id"),
        "device": activation.get("device"),
        "nonce": airgap.new_nonce(),
        "created_at": to_iso(lic.clock.now()),
    }
    proof = str(airgap.signed_claim(airgap.PROOF, claim, signer))
    keys["activation"], keys["proof"] = None, proof
    _save(lic, keys)
    state = lic.state_file.load()
    if state.signed is not None and state.credential is not None:
        state.signed = None  # the license document goes: offline, this installation holds nothing now
        try:
            lic.state_file.save(state)
        except OSError as exc:
            raise ConfigurationError(f"cannot write the state in {lic.data_dir}: {exc}") from exc
    return proof
