"""The device credential header: ``Authorization: Device <device id>:<secret>``."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header

from licentia.server.errors import ApiError, ErrorCode


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
