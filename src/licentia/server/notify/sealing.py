"""Secrets in queued emails (a customer's license key), sealed with the server's key.

Threat: a copy of the database (a backup, a read-only SQL account, a stolen
disk) would otherwise hold in clear every license key waiting to be emailed,
and with SMTP unset (the default) that is every key ever issued by email.

So the stored row never holds the secret: its text carries the secret's mask
(``ABCDE-*****-...``), and the row's ``sealed`` field carries the masks and the
secrets they stand for, encrypted with the Fernet key that already encrypts the
signing keys at rest (``LICENTIA_SECRET_KEY``). The delivery worker opens it
only to send, in memory, and drops ``sealed`` once the email is sent. A database
copy without the secret key reveals no key.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from cryptography.fernet import Fernet, InvalidToken

SEALED = "sealed"
# A single secret kept in a column (a webhook's signing secret, a license key): this prefix, then a Fernet token.
SEALED_PREFIX = "sealed:v1:"
# Rows written before sealing existed hold the secret in clear with a map of what masks it.
LEGACY_REDACT = "redact"
_TEXT_FIELDS = ("subject", "text", "html")


class SealBroken(Exception):
    """The sealed secrets cannot be opened with this server's key (a different LICENTIA_SECRET_KEY)."""


def seal_value(secret: str, fernet: Fernet) -> str:
    """``secret`` as a column keeps it: sealed with the server's key, readable only by this server."""
    return SEALED_PREFIX + fernet.encrypt(secret.encode()).decode("ascii")


def open_value(stored: str, fernet: Fernet, *, what: str) -> str:
    """The secret a :func:`seal_value` column holds, in memory only; ``what`` names it in the error."""
    try:
        if not stored.startswith(SEALED_PREFIX):
            raise InvalidToken
        return fernet.decrypt(stored[len(SEALED_PREFIX) :].encode()).decode()
    except InvalidToken as exc:
        raise SealBroken(f"{what} cannot be opened with this server's LICENTIA_SECRET_KEY") from exc


def _replace_all(payload: dict[str, Any], pairs: Mapping[str, str]) -> dict[str, Any]:
    out = dict(payload)
    for field in _TEXT_FIELDS:
        value = out.get(field)
        if isinstance(value, str):
            for old, new in pairs.items():
                value = value.replace(old, new)
            out[field] = value
    return out


def seal(payload: dict[str, Any], secrets: Mapping[str, str], fernet: Fernet) -> dict[str, Any]:
    """``payload`` as stored: each secret (key of ``secrets``) replaced by its mask, and sealed aside."""
    masks = {mask: secret for secret, mask in secrets.items()}
    if len(masks) != len(secrets) or any(not mask or mask in secrets for mask in masks):
        raise ValueError("each secret needs its own mask, different from every secret")
    stored = _replace_all(payload, secrets)
    stored[SEALED] = fernet.encrypt(json.dumps(masks, sort_keys=True).encode()).decode("ascii")
    return stored


def opened(payload: dict[str, Any], fernet: Fernet) -> dict[str, Any]:
    """The payload to send (never to store): the secrets back in place of their masks."""
    token = payload.get(SEALED)
    clean = {k: v for k, v in payload.items() if k not in (SEALED, LEGACY_REDACT)}
    if not token:
        return clean
    try:
        masks = json.loads(fernet.decrypt(str(token).encode("ascii")))
    except (InvalidToken, ValueError) as exc:
        raise SealBroken("the sealed secrets cannot be opened with this server's LICENTIA_SECRET_KEY") from exc
    return _replace_all(clean, masks)


def forgotten(payload: dict[str, Any]) -> dict[str, Any]:
    """The payload as kept once sent: masks only, nothing sealed (legacy rows: secrets masked)."""
    secrets = payload.get(LEGACY_REDACT) or {}
    clean = {k: v for k, v in payload.items() if k not in (SEALED, LEGACY_REDACT)}
    return _replace_all(clean, secrets)


def sealed_legacy(payload: dict[str, Any], fernet: Fernet) -> dict[str, Any] | None:
    """A row queued in clear by an older version, sealed now; None when there is nothing to seal."""
    secrets = payload.get(LEGACY_REDACT)
    if not secrets or not isinstance(secrets, dict):
        return None
    clean = {k: v for k, v in payload.items() if k != LEGACY_REDACT}
    return seal(clean, {str(k): str(v) for k, v in secrets.items()}, fernet)
