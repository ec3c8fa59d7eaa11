"""Webhook signatures: ``Licentia-Signature: t=<unix>,v1=<hex>``.

``v1`` is HMAC-SHA256, keyed with the webhook's secret, of ``"<t>.<body>"``.
Signing the timestamp with the body lets a receiver refuse a captured request
replayed later (threat: someone who once saw a delivery re-posts it to fake an
install or a piracy signal); the receiver checks that ``t`` is recent.

This module uses only the standard library so a receiver can import it with a
plain ``pip install licentia`` (no server extra)::

    from licentia.server.notify.signature import InvalidSignature, verify_signature
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac

SIGNATURE_HEADER = "Licentia-Signature"
EVENT_ID_HEADER = "Licentia-Event-Id"
# How far a receiver's clock and the delivery time may differ. Five minutes
# covers clock drift and slow networks; retries are signed afresh.
DEFAULT_TOLERANCE_SECONDS = 300


class InvalidSignature(Exception):
    """The request was not signed by Licentia with this secret, or not recently.

    Deliberately one opaque error: a receiver only needs to refuse the request.
    """


class StaleSignature(InvalidSignature):
    """A genuine signature, but its timestamp is outside the tolerance (a replay, or a skewed clock)."""


def _digest(secret: str, timestamp: int, body: bytes) -> str:
    signed = str(timestamp).encode("ascii") + b"." + body
    return hmac.new(secret.encode("utf-8"), signed, hashlib.sha256).hexdigest()


def sign(secret: str, body: bytes, *, at: dt.datetime) -> str:
    """The ``Licentia-Signature`` header value for ``body`` sent at ``at``."""
    timestamp = int(at.timestamp())
    return f"t={timestamp},v1={_digest(secret, timestamp, body)}"


def verify_signature(
    body: bytes,
    header: str,
    secrets: str | list[str],
    *,
    at: dt.datetime,
    tolerance_seconds: int = DEFAULT_TOLERANCE_SECONDS,
) -> None:
    """Raise :class:`InvalidSignature` unless ``header`` signs ``body`` with one of ``secrets``.

    ``body`` must be the raw request bytes, before any JSON parsing. Pass
    several secrets while rotating one (old and new both accepted). ``at`` is
    the receiver's current time (passed in so tests are deterministic).
    """
    candidates = [secrets] if isinstance(secrets, str) else list(secrets)
    timestamp: int | None = None
    signatures: list[str] = []
    for part in header.split(","):
        name, _, value = part.strip().partition("=")
        if name == "t":
            try:
                timestamp = int(value)
            except ValueError:
                raise InvalidSignature("malformed signature header") from None
        elif name == "v1":
            signatures.append(value)
    if timestamp is None or not signatures or not candidates:
        raise InvalidSignature("malformed signature header")
    if abs(at.timestamp() - timestamp) > tolerance_seconds:
        raise StaleSignature("signature timestamp outside the tolerance")
    for secret in candidates:
        expected = _digest(secret, timestamp, body)
        # Compare every candidate in constant time: a timing difference would
        # let an attacker guess a valid signature byte by byte.
        if any(hmac.compare_digest(expected, given) for given in signatures):
            return
    raise InvalidSignature("signature does not match")


__all__ = [
    "DEFAULT_TOLERANCE_SECONDS",
    "EVENT_ID_HEADER",
    "SIGNATURE_HEADER",
    "InvalidSignature",
    "sign",
    "verify_signature",
]
