"""Releases: the newest version per channel answers "is there a newer version?"."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

import sqlalchemy as sa
from packaging.version import InvalidVersion, Version

from licentia.core.clock import to_iso
from licentia.server.errors import ApiError, ErrorCode
from licentia.server.store.models import Release, table_of

releases = table_of(Release)


def parse_version(text: str) -> Version:
    try:
        return Version(text)
    except InvalidVersion as exc:
        raise ApiError(ErrorCode.INVALID_VERSION, f"{text!r} is not a PEP 440 / semantic version") from exc


def publish(
    conn: sa.Connection,
    *,
    product_id: int,
    version: str,
    channel: str,
    now: dt.datetime,
    download_url: str | None = None,
    notes: str | None = None,
) -> int:
    parse_version(version)
    exists = conn.execute(
        sa.select(releases.c.id).where(
            releases.c.product_id == product_id, releases.c.channel == channel, releases.c.version == version
        )
    ).first()
    if exists:
        raise ApiError(ErrorCode.RELEASE_EXISTS, f"version {version} is already published on {channel}")
    return int(
        conn.execute(
            releases.insert()
            .values(
                product_id=product_id,
                version=version,
                channel=channel,
                released_at=now,
                download_url=download_url,
                notes=notes,
            )
            .returning(releases.c.id)
        ).scalar_one()
    )


def latest(conn: sa.Connection, *, product_id: int, channel: str) -> dict[str, Any] | None:
    rows = conn.execute(
        sa.select(releases).where(releases.c.product_id == product_id, releases.c.channel == channel)
    ).all()
    best = None
    for row in rows:
        try:
            version = Version(row.version)
        except InvalidVersion:
            continue
        if best is None or version > best[0]:
            best = (version, row)
    if best is None:
        return None
    row = best[1]
    return {
        "version": row.version,
        "channel": row.channel,
        "released_at": to_iso(row.released_at),
        "download_url": row.download_url,
        "notes": row.notes,
    }


class LatestReleaseCache:
    """Per-process cache of the latest release: a stale answer for a few seconds is harmless."""

    def __init__(self, ttl_seconds: float = 15.0) -> None:
        self._ttl = ttl_seconds
        self._entries: dict[tuple[int, str], tuple[float, dict[str, Any] | None]] = {}

    def get(self, conn: sa.Connection, product_id: int, channel: str) -> dict[str, Any] | None:
        key = (product_id, channel)
        hit = self._entries.get(key)
        now = time.monotonic()
        if hit is not None and now - hit[0] < self._ttl:
            return hit[1]
        value = latest(conn, product_id=product_id, channel=channel)
        if value is not None:
            value = {k: value[k] for k in ("version", "channel", "download_url")}
        self._entries[key] = (now, value)
        return value

    def clear(self) -> None:
        self._entries.clear()
