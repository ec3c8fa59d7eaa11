"""What the read-only ``licentia device`` commands show, read from a :class:`Snapshot`."""

from __future__ import annotations

from licentia.server.errors import ApiError
from licentia.server.store.snapshot import Snapshot

TYPE_CHECKING = False  # typing is not imported: see store/snapshot.py
if TYPE_CHECKING:
    from typing import Any


def recent_devices(snapshot: Snapshot, limit: int) -> list[dict[str, Any]]:
    return snapshot.rows(
        "SELECT id, status, app_version, last_seen FROM devices ORDER BY last_seen DESC LIMIT :limit", limit=limit
    )


def device_view(snapshot: Snapshot, device_id: str) -> dict[str, Any]:
    """Every column of the device but its hashes (a secret's or a token's hash is never shown)."""
    row = snapshot.row("SELECT * FROM devices WHERE id = :id", id=device_id)
    if row is None:
        raise ApiError("unknown_device", f"no device {device_id!r}", 404)
    return {k: v for k, v in row.items() if not k.endswith("_hash")}
