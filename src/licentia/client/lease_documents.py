"""Lease documents on this machine: verified before trusted, kept in ``data_dir/lease.json``.

A lease document is signed by the product's key in the status document's
envelope. It is trusted only once it verifies with the pinned key, names this
product, is of type ``floating_lease`` and names this machine's hardware, read
afresh: a document edited, or copied to another computer, grants nothing. The
file keeps the document exactly as signed; it holds no secret.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

from licentia.client._exceptions import InvalidAnswer
from licentia.client.fingerprint import Fingerprint
from licentia.client.status import entitlements_in_force
from licentia.core.clock import from_iso
from licentia.core.fingerprint import matches
from licentia.core.signing import InvalidDocument, verify_document

if TYPE_CHECKING:
    from licentia.client._client import Licentia
    from licentia.client.answers import Asked

LEASE_FILE = "lease.json"
DOCUMENT_TYPE = "floating_lease"
MAX_LEASE_BYTES = 1 << 16


def verify_lease(
    unverified_signed: Mapping[str, Any],
    keys: Mapping[str, Any],
    *,
    product: str,
    fingerprint: Fingerprint,
    at_time: dt.datetime | None,
) -> dict[str, Any]:
    """Verify a signed lease document and that it names this machine's hardware; else :class:`InvalidDocument`."""
    payload = verify_document(unverified_signed, keys, product=product, at_time=at_time)
    components = payload.get("components")
    if payload.get("type") != DOCUMENT_TYPE or not isinstance(payload.get("lease"), str):
        raise InvalidDocument("not a lease document")
    try:
        min_match = int(payload.get("min_match") or 2)
        expires = from_iso(str(payload["expires_at"]))
        issued = from_iso(str(payload["issued_at"]))
    except (KeyError, TypeError, ValueError, OverflowError) as exc:
        raise InvalidDocument("malformed lease document") from exc
    if not isinstance(components, dict) or not matches(components, fingerprint.components, min_match):
        raise InvalidDocument("the lease is for another machine")
    # A copy: the payload is the signed document itself, kept byte for byte in lease.json.
    return {**payload, "_expires": expires, "_issued": issued}


class LeaseTerms(NamedTuple):
    """What a verified lease document grants, judged at ``now`` (``lease_terms``)."""

    id: str
    borrowed: bool
    seconds_left: float
    heartbeat_seconds: float
    entitlements: dict[str, bool | int | str]
    features: tuple[str, ...]


def lease_terms(payload: dict[str, Any], now: dt.datetime) -> LeaseTerms:
    """A verified lease document (``verify_lease``) at ``now``: the server's time online, the checked clock offline.

    The heartbeat interval is the signed one when it is at most half the lease time, else a
    quarter of the lease time (30 s without one): a document's bug must not let the seat lapse.
    """
    every = payload.get("heartbeat_seconds")
    lease_seconds = payload.get("lease_seconds")
    limit = lease_seconds / 2 if type(lease_seconds) is int and lease_seconds > 0 else 60.0
    return LeaseTerms(
        id=payload["lease"],
        borrowed=payload.get("borrowed") is True,
        seconds_left=max(0.0, (payload["_expires"] - now).total_seconds()),
        heartbeat_seconds=float(every) if type(every) is int and 0 < every <= limit else limit / 2,
        entitlements=entitlements_in_force(payload.get("entitlements"), now),
        features=tuple(f for f in payload.get("features") or () if isinstance(f, str)),
    )


def usable_borrow(
    unverified: dict[str, Any], keys: Mapping[str, Any], *, product: str, fingerprint: Fingerprint, at: dt.datetime
) -> dict[str, Any] | None:
    """The kept lease document, verified for this machine at ``at`` (the checked server time), if it still runs."""
    try:
        payload = verify_lease(unverified, keys, product=product, fingerprint=fingerprint, at_time=at)
    except InvalidDocument:
        return None
    return payload if payload["_expires"] > at else None


def verified_answer(
    answer: Any, asked: Asked, keys: Mapping[str, Any], *, product: str, fingerprint: Fingerprint
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A lease call's answer: its verified document and the signed text, if it answers this request here.

    Refused (:class:`InvalidAnswer`): no signed lease, one that does not verify for this machine,
    an answer naming another lease than its document, or a document bound to another request
    or installation (``Asked.bind``: nonce, device, machine).
    """
    if not isinstance(answer, dict) or not isinstance(answer.get("signed"), dict):
        raise InvalidAnswer("the server's answer carries no signed lease")
    unverified_signed: dict[str, Any] = answer["signed"]
    try:
        payload = verify_lease(unverified_signed, keys, product=product, fingerprint=fingerprint, at_time=None)
    except InvalidDocument as exc:
        raise InvalidAnswer(f"the server's lease does not verify: {exc}") from exc
    if payload["lease"] != answer.get("lease"):
        raise InvalidAnswer("the server's answer names another lease than its document")
    asked.bind(payload, None, keys, product)
    return payload, unverified_signed


def read_kept(lic: Licentia) -> dict[str, Any] | None:
    """The unverified signed document in ``lease.json``, or None (missing, oversized, not JSON)."""
    import json

    try:
        with open(os.path.join(lic._dir, LEASE_FILE), "rb") as handle:
            raw = handle.read(MAX_LEASE_BYTES + 1)
        unverified = json.loads(raw) if len(raw) <= MAX_LEASE_BYTES else None
    except (OSError, ValueError, RecursionError):
        return None
    return unverified if isinstance(unverified, dict) else None


def kept_lease_id(lic: Licentia) -> str | None:
    """The id of the lease document kept here, if it verifies for this machine (ended or not)."""
    unverified = read_kept(lic)
    if unverified is None:
        return None
    try:
        payload = verify_lease(unverified, lic.keys, product=lic.product, fingerprint=lic.fingerprint(), at_time=None)
    except InvalidDocument:
        return None
    return str(payload["lease"])


def save_lease(lic: Licentia, signed: Mapping[str, Any]) -> None:
    """Keep the last lease document (signed, verified when read): a failure to write only costs offline use."""
    import json
    import tempfile

    try:
        os.makedirs(lic._dir, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".lease-", suffix=".tmp", dir=lic._dir)  # created 0600
        with os.fdopen(fd, "wb") as handle:
            handle.write(json.dumps(dict(signed), separators=(",", ":")).encode())
        os.replace(tmp, os.path.join(lic._dir, LEASE_FILE))
    except OSError as exc:
        _log().warning("cannot keep the lease in %s: %s", lic._dir, exc)


def forget_lease(lic: Licentia, lease_id: str) -> None:
    """Drop the stored document of a returned lease (a newer lease's document stays)."""
    stored = read_kept(lic)
    document = stored.get("document") if stored is not None else None
    if isinstance(document, dict) and document.get("lease") == lease_id:
        with contextlib.suppress(OSError):
            os.unlink(os.path.join(lic._dir, LEASE_FILE))


def _log() -> Any:
    import logging

    return logging.getLogger("licentia.client")
