"""Refusals shared by the providers' signature checks, and the replay window on the server's clock.

Every refusal is a 401 with a stable code and happens before the body is
trusted or anything is written: a forged or replayed delivery changes nothing.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
from typing import Any

from licentia.server.errors import ApiError, ErrorCode


class SignatureRefused(ApiError):
    def __init__(self, message: str) -> None:
        super().__init__(ErrorCode.INVALID_SIGNATURE, message)


class StaleSignature(ApiError):
    def __init__(self, message: str) -> None:
        super().__init__(ErrorCode.STALE_SIGNATURE, message)


def check_timestamp(unverified_stamp: int, *, now: dt.datetime, tolerance: dt.timedelta) -> None:
    """Refuse a signed timestamp further than ``tolerance`` from the server's clock (either way)."""
    # Compared as whole seconds: a 400-digit "timestamp" must not overflow a float.
    if abs(int(now.timestamp()) - unverified_stamp) > tolerance.total_seconds():
        raise StaleSignature(
            f"the signed timestamp is more than {int(tolerance.total_seconds())} s away: refused as a replay"
        )


def base64_hmac_sha256_matches(secret: str, raw: bytes, unverified_signature: str) -> bool:
    """Constant-time check of ``base64(HMAC-SHA256(secret, raw))`` (FastSpring's documented scheme)."""
    expected = base64.b64encode(hmac.new(secret.encode(), raw, hashlib.sha256).digest()).decode()
    # As bytes: compare_digest refuses non-ASCII text with a TypeError, and a header may hold any.
    return hmac.compare_digest(expected.encode(), unverified_signature.strip().encode("utf-8", "replace"))


def load_json_object(raw: bytes, what: str) -> dict[str, Any]:
    """The verified body as a JSON object, else ``400 invalid_event`` (a provider never sends that)."""
    try:
        found = json.loads(raw)
    except ValueError as exc:
        raise ApiError(ErrorCode.INVALID_EVENT, f"{what} is not JSON") from exc
    if not isinstance(found, dict):
        raise ApiError(ErrorCode.INVALID_EVENT, f"{what} is not a JSON object")
    return found
