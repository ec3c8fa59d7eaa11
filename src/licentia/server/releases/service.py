"""Releases: the newest version per channel answers "is there a newer version?"."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from licentia.core.clock import to_iso
from licentia.server.errors import ApiError, ErrorCode
from licentia.server.releases.versions import parse_version, version_or_none
from licentia.server.store.tables import releases


def publish(
    conn: sa.Connection,
    *,
    product_id: int,
    version: str,
    channel: str,
    now: dt.datetime,
    download_url: str | None = None,
    notes: str | None = None,
    released_at: dt.datetime | None = None,
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
                released_at=released_at or now,
                download_url=download_url,
                notes=notes,
            )
            .returning(releases.c.id)
        ).scalar_one()
    )


def newest_first(conn: sa.Connection, *, product_id: int, channel: str) -> list[dict[str, Any]]:
    """The channel's releases, newest version first (unparsable versions left out)."""
    rows = conn.execute(
        sa.select(releases).where(releases.c.product_id == product_id, releases.c.channel == channel)
    ).all()
    parsed = [(version, row) for row in rows if (version := version_or_none(row.version)) is not None]
    parsed.sort(key=lambda pair: pair[0], reverse=True)
    return [
        {
            "version": row.version,
            "channel": row.channel,
            "released_at": row.released_at,
            "download_url": row.download_url,
            "notes": row.notes,
            # What the signed status document carries, made once per cache fill.
            "summary": {"version": row.version, "channel": row.channel, "download_url": row.download_url},
        }
        for _version, row in parsed
    ]


def described(release: Mapping[str, Any]) -> dict[str, Any]:
    """A release as ``GET /v1/releases/latest`` answers it."""
    return {
        "version": release["version"],
        "channel": release["channel"],
        "released_at": to_iso(release["released_at"]),
        "download_url": release["download_url"],
        "notes": release["notes"],
    }


def latest(conn: sa.Connection, *, product_id: int, channel: str) -> dict[str, Any] | None:
    found = newest_first(conn, product_id=product_id, channel=channel)
    return described(found[0]) if found else None


class LatestReleaseCache:
    """Per-process cache of a channel's releases: a stale answer for a few seconds is harmless."""

    def __init__(self, ttl_seconds: float = 15.0) -> None:
        self._ttl = ttl_seconds
        self._entries: dict[tuple[int, str], tuple[float, list[dict[str, Any]]]] = {}

    def get(self, conn: sa.Connection, product_id: int, channel: str) -> list[dict[str, Any]]:
        """The channel's releases, newest first (see :func:`licentia.server.policies.terms.offer`)."""
        key = (product_id, channel)
        hit = self._entries.get(key)
        now = time.monotonic()
        if hit is not None and now - hit[0] < self._ttl:
            return hit[1]
        value = newest_first(conn, product_id=product_id, channel=channel)
        self._entries[key] = (now, value)
        return value

    def clear(self) -> None:
        self._entries.clear()
