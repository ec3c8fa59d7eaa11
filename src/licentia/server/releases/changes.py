"""Publishing a release on behalf of someone (audited)."""

from __future__ import annotations

import datetime as dt
import re

import sqlalchemy as sa

from licentia.server.audit import AuditAction, record
from licentia.server.errors import ApiError, ErrorCode
from licentia.server.notify.catalog import WebhookEvent, emit
from licentia.server.products.service import get_product
from licentia.server.releases.service import publish

CHANNEL = re.compile(r"^[a-z0-9-]{1,32}$")


def publish_release(
    conn: sa.Connection,
    *,
    product: str,
    version: str,
    channel: str,
    actor: str,
    now: dt.datetime,
    download_url: str | None = None,
    notes: str | None = None,
) -> int:
    if not CHANNEL.match(channel):
        raise ApiError(ErrorCode.INVALID_CHANNEL, "a channel is 1-32 lowercase letters, digits and dashes")
    if download_url and not download_url.startswith(("https://", "http://")):
        # Shown to users as a link: refuse javascript: and other schemes.
        raise ApiError(ErrorCode.INVALID_URL, "the download URL must start with https:// or http://")
    prod = get_product(conn, product)
    release_id = publish(
        conn,
        product_id=prod.id,
        version=version.strip(),
        channel=channel,
        now=now,
        download_url=download_url or None,
        notes=notes or None,
    )
    emit(
        conn,
        WebhookEvent.RELEASE_PUBLISHED,
        product_id=prod.id,
        data={
            "release": {
                "id": release_id,
                "version": version.strip(),
                "channel": channel,
                "download_url": download_url or None,
            }
        },
        now=now,
        dedupe_key=str(release_id),
    )
    record(
        conn,
        AuditAction.RELEASE_PUBLISH,
        release_id,
        actor=actor,
        now=now,
        product=product,
        version=version.strip(),
        channel=channel,
    )
    return release_id
