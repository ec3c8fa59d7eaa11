"""GET /v1/releases/latest: is there a newer version of the application (that this license covers)?"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from licentia.core.clock import to_iso
from licentia.server.credentials import DeviceCredential, authenticate
from licentia.server.errors import ApiError, ErrorCode
from licentia.server.policies.terms import offer
from licentia.server.products.service import get_product
from licentia.server.releases.service import described, newest_first
from licentia.server.releases.versions import parse_version
from licentia.server.state import WriterDep
from licentia.server.store.tables import licenses

router = APIRouter(prefix="/v1/releases", tags=["releases"])


class NewerRelease(BaseModel):
    version: str
    channel: str
    released_at: str


class Maintenance(BaseModel):
    until: str | None = Field(description="The license's updates end (UTC); null: every release.")
    newer_release: NewerRelease | None = Field(
        description="The newest release, when it is beyond the maintenance (an upgrade to offer)."
    )


class LatestRelease(BaseModel):
    version: str | None
    channel: str
    released_at: str | None = None
    download_url: str | None = None
    notes: str | None = None
    newer: bool | None = None
    maintenance: Maintenance | None = Field(
        default=None, description="With a device credential of a licensed installation: its maintenance."
    )


@router.get("/latest")
async def latest_release(
    writer: WriterDep,
    product: Annotated[str, Query(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")],
    credential: DeviceCredential,
    channel: Annotated[str, Query(pattern=r"^[a-z0-9-]{1,32}$")] = "stable",
    current: Annotated[str | None, Query(max_length=64, description="The running version")] = None,
) -> LatestRelease:
    """The newest release on a channel; with ``current``, whether it is newer than that.

    With the device credential (``Authorization: Device <id>:<secret>``) of an
    installation holding a license, the newest release that license's
    maintenance covers, and in ``maintenance`` the newer one it does not.
    """
    current_version = parse_version(current) if current else None

    def job(conn: sa.Connection) -> LatestRelease:
        prod = get_product(conn, product)
        lic = None
        if credential is not None:
            device = authenticate(conn, credential)
            if device.product_id != prod.id:
                raise ApiError(ErrorCode.INVALID_CREDENTIAL, "unknown device or wrong device secret")
            if device.license_id is not None:
                lic = conn.execute(
                    sa.select(licenses.c.maintenance_until).where(licenses.c.id == device.license_id)
                ).first()
        releases = newest_first(conn, product_id=prod.id, channel=channel)
        found, beyond = offer(releases, lic.maintenance_until if lic is not None else None)
        maintenance = None
        if lic is not None:
            maintenance = Maintenance(
                until=to_iso(lic.maintenance_until) if lic.maintenance_until else None,
                newer_release=None if beyond is None else NewerRelease(**_newer(beyond)),
            )
        if found is None:
            return LatestRelease(
                version=None, channel=channel, newer=False if current else None, maintenance=maintenance
            )
        newer = parse_version(found["version"]) > current_version if current_version else None
        return LatestRelease(**described(found), newer=newer, maintenance=maintenance)

    return await writer.run(job)


def _newer(release: Mapping[str, Any]) -> dict[str, Any]:
    return {"version": release["version"], "channel": release["channel"], "released_at": to_iso(release["released_at"])}
