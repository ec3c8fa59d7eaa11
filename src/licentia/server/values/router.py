"""GET/PUT /v1/values/{key}: small data an application keeps per device or per license."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

import sqlalchemy as sa
from fastapi import APIRouter, Path, Query
from pydantic import BaseModel

from licentia.core.clock import to_iso
from licentia.server.credentials import DeviceCredential, authenticate
from licentia.server.errors import ApiError, ErrorCode
from licentia.server.events.payloads import StorableJson
from licentia.server.state import ClockDep, WriterDep
from licentia.server.store.tables import values_table

router = APIRouter(prefix="/v1/values", tags=["values"])
MAX_VALUE_BYTES = 4096
MAX_KEYS_PER_OWNER = 100
Key = Annotated[str, Path(pattern=r"^[A-Za-z0-9_.-]{1,64}$")]
Scope = Annotated[Literal["device", "license"], Query()]


class StoredValue(BaseModel):
    key: str
    scope: str
    value: Any
    updated_at: str


class PutValue(BaseModel):
    value: StorableJson


def _owner(device: Any, scope: str) -> str:
    if scope == "device":
        return str(device.id)
    if device.license_id is None:
        raise ApiError(ErrorCode.NOT_REGISTERED, "license values need a device activated on a license")
    return f"lic:{device.license_id}"


@router.get("/{key}")
async def get_value(writer: WriterDep, key: Key, credential: DeviceCredential, scope: Scope = "device") -> StoredValue:
    """Read a value saved by this device (or by any device on its license)."""

    def job(conn: sa.Connection) -> StoredValue:
        owner = _owner(authenticate(conn, credential), scope)
        row = conn.execute(
            sa.select(values_table).where(
                values_table.c.scope == scope, values_table.c.owner_id == owner, values_table.c.key == key
            )
        ).first()
        if row is None:
            raise ApiError(ErrorCode.UNKNOWN_VALUE, f"no value named {key!r}")
        return StoredValue(key=key, scope=scope, value=row.value, updated_at=to_iso(row.updated_at))

    return await writer.run(job)


@router.put("/{key}")
async def put_value(
    writer: WriterDep, clock: ClockDep, key: Key, body: PutValue, credential: DeviceCredential, scope: Scope = "device"
) -> StoredValue:
    """Save a JSON value (at most 4 KB, at most 100 keys per device or license)."""
    if len(json.dumps(body.value)) > MAX_VALUE_BYTES:
        raise ApiError(ErrorCode.VALUE_TOO_LARGE, f"a value is at most {MAX_VALUE_BYTES} bytes of JSON")
    now = clock.now()

    def job(conn: sa.Connection) -> StoredValue:
        owner = _owner(authenticate(conn, credential), scope)
        where = (values_table.c.scope == scope, values_table.c.owner_id == owner)
        exists = conn.execute(sa.select(values_table.c.key).where(*where, values_table.c.key == key)).first()
        if exists:
            conn.execute(
                values_table.update().where(*where, values_table.c.key == key).values(value=body.value, updated_at=now)
            )
        else:
            count = conn.execute(sa.select(sa.func.count()).select_from(values_table).where(*where)).scalar_one()
            if count >= MAX_KEYS_PER_OWNER:
                raise ApiError(ErrorCode.TOO_MANY_VALUES, f"at most {MAX_KEYS_PER_OWNER} values per {scope}")
            conn.execute(
                values_table.insert().values(scope=scope, owner_id=owner, key=key, value=body.value, updated_at=now)
            )
        return StoredValue(key=key, scope=scope, value=body.value, updated_at=to_iso(now))

    return await writer.run(job)
