"""What the read-only ``licentia device`` commands show, read from a :class:`Snapshot`."""

from __future__ import annotations

from licentia.server.errors import ApiError, ErrorCode
from licentia.server.store.snapshot import Snapshot

TYPE_CHECKING = False  # typing is not imported: see store/snapshot.py
if TYPE_CHECKING:
    from typing import Any


def recent_devices(snapshot: Snapshot, limit: int) -> list[dict[str, Any]]:
    """The most recently seen installations; one replaced by a recognised reinstall is folded under it."""
    return snapshot.rows(
        "SELECT id, status, app_version, last_seen, previous_id FROM devices WHERE superseded_by IS NULL"
        " ORDER BY last_seen DESC LIMIT :limit",
        limit=limit,
    )


def device_view(snapshot: Snapshot, device_id: str) -> dict[str, Any]:
    """Every column of the installation but its hashes (a secret's or a token's hash is never shown),
    with its machine's trial end and the vendor's restriction (shared by every installation there)."""
    row = snapshot.row(
        "SELECT d.*, m.trial_end, m.restriction, m.restriction_reason, m.hardware_changed_at"
        " FROM devices d JOIN machines m ON m.id = d.machine_id WHERE d.id = :id",
        id=device_id,
    )
    if row is None:
        raise ApiError(ErrorCode.UNKNOWN_DEVICE, f"no device {device_id!r}")
    return {k: v for k, v in row.items() if not k.endswith("_hash")}
