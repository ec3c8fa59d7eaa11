"""What the read-only ``licentia license`` commands show, read from a :class:`Snapshot`."""

from __future__ import annotations

from licentia.server.store.snapshot import Snapshot

TYPE_CHECKING = False  # typing is not imported: see store/snapshot.py
if TYPE_CHECKING:
    from typing import Any


def licenses_by_prefix(snapshot: Snapshot, prefix: str, product: str | None = None) -> list[dict[str, Any]]:
    """Licenses whose key starts with ``prefix`` (dashes and case ignored), of one product if named.

    The key itself is never stored: only its prefix can be searched.
    """
    clean = prefix.replace("-", "").upper()[:8]
    # The prefix is typed by a person: a % or _ in it is a character, not a wildcard.
    pattern = clean.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    if product is None:
        return snapshot.rows(
            "SELECT id, key_prefix, state, expires_at FROM licenses"
            " WHERE key_prefix LIKE :pattern ESCAPE '\\' ORDER BY id",
            pattern=pattern,
        )
    return snapshot.rows(
        "SELECT l.id, l.key_prefix, l.state, l.expires_at FROM licenses l JOIN products p ON p.id = l.product_id"
        " WHERE p.slug = :product AND l.key_prefix LIKE :pattern ESCAPE '\\' ORDER BY l.id",
        pattern=pattern,
        product=product,
    )
