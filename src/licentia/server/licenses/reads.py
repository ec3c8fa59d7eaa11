"""What the read-only ``licentia license`` commands show, read from a :class:`Snapshot`."""

from __future__ import annotations

from licentia.server.store.snapshot import Snapshot

TYPE_CHECKING = False  # typing is not imported: see store/snapshot.py
if TYPE_CHECKING:
    from typing import Any


def licenses_by_prefix(snapshot: Snapshot, prefix: str) -> list[dict[str, Any]]:
    """Licenses whose key starts with ``prefix`` (dashes and case ignored); the key itself is never stored."""
    clean = prefix.replace("-", "").upper()[:8]
    # The prefix is typed by a person: a % or _ in it is a character, not a wildcard.
    pattern = clean.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    return snapshot.rows(
        "SELECT id, key_prefix, state, expires_at FROM licenses WHERE key_prefix LIKE :pattern ESCAPE '\\' ORDER BY id",
        pattern=pattern,
    )
