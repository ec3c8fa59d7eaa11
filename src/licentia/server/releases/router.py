"""GET /v1/releases/latest: is there a newer version of the application?"""

from __future__ import annotations

from typing import Annotated

import sqlalchemy as sa
from fastapi import APIRouter, Query
from pydantic import BaseModel

from licentia.server.products.service import get_product
from licentia.server.releases.service import latest, parse_version
from licentia.server.state import WriterDep

router = APIRouter(prefix="/v1/releases", tags=["releases"])


class LatestRelease(BaseModel):
    version: str | None
    channel: str
    released_at: str | None = None
    download_url: str | None = None
    notes: str | None = None
    newer: bool | None = None


@router.get("/latest")
async def latest_release(
    writer: WriterDep,
    product: Annotated[str, Query(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")],
    channel: Annotated[str, Query(pattern=r"^[a-z0-9-]{1,32}$")] = "stable",
    current: Annotated[str | None, Query(max_length=64, description="The running version")] = None,
) -> LatestRelease:
    """The newest release on a channel; with ``current``, whether it is newer than that."""
    current_version = parse_version(current) if current else None

    def job(conn: sa.Connection) -> LatestRelease:
        prod = get_product(conn, product)
        found = latest(conn, product_id=prod.id, channel=channel)
        if found is None:
            return LatestRelease(version=None, channel=channel, newer=False if current else None)
        newer = parse_version(found["version"]) > current_version if current_version else None
        return LatestRelease(**found, newer=newer)

    return await writer.run(job)
