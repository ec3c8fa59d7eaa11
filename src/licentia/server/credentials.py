"""The device credential: the ``Authorization: Device <device id>:<secret>`` header, and its check."""

from __future__ import annotations

import hashlib
import hmac
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import Depends, Header

from licentia.server.errors import ApiError, ErrorCode
from licentia.server.store.tables import devices


def parse_device_credential(authorization: str | None) -> tuple[str, str] | None:
    if not authorization:
        return None
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() != "device":
        return None
    device_id, sep, secret = value.strip().partition(":")
    if not sep or not device_id or not secret or len(device_id) > 64 or len(secret) > 128:
        raise ApiError(ErrorCode.INVALID_CREDENTIAL, "malformed device credential; expected 'Device <id>:<secret>'")
    return device_id, secret


async def _credential(authorization: Annotated[str | None, Header()] = None) -> tuple[str, str] | None:
    return parse_device_credential(authorization)


DeviceCredential = Annotated[tuple[str, str] | None, Depends(_credential)]


def authenticate(conn: sa.Connection, credential: tuple[str, str] | None) -> Any:
    """The calling installation's row, or 401: a device id alone is never enough."""
    if credential is None:
        raise ApiError(
            ErrorCode.INVALID_CREDENTIAL, "this call needs the device credential (Authorization: Device ...)"
        )
    device_id, secret = credential
    row = conn.execute(sa.select(devices).where(devices.c.id == device_id)).first()
    if row is None or not hmac.compare_digest(hashlib.sha256(secret.encode()).hexdigest(), row.secret_hash):
        raise ApiError(ErrorCode.INVALID_CREDENTIAL, "unknown device or wrong device secret")
    return row
