"""What the read-only ``licentia license`` commands show, read from a :class:`Snapshot`."""

from __future__ import annotations

from licentia.server.errors import ApiError, ErrorCode
from licentia.server.store.snapshot import Snapshot

TYPE_CHECKING = False  # typing is not imported: see store/snapshot.py
if TYPE_CHECKING:
    from typing import Any


def licenses_by_prefix(snapshot: Snapshot, prefix: str, *, product: str | None = None) -> list[dict[str, Any]]:
    """Licenses whose key starts with ``prefix`` (dashes and case ignored), of ``product`` if named.

    The key itself is never stored in clear (only hashed and sealed), so it is never shown.
    """
    clean = prefix.replace("-", "").upper()[:8]
    # The prefix is typed by a person: a % or _ in it is a character, not a wildcard.
    pattern = clean.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    query = "SELECT id, key_prefix, state, expires_at FROM licenses WHERE key_prefix LIKE :pattern ESCAPE '\\'"
    if product is None:
        return snapshot.rows(query + " ORDER BY id", pattern=pattern)
    found = snapshot.row("SELECT id FROM products WHERE slug = :slug", slug=product)
    if found is None:
        raise ApiError(ErrorCode.UNKNOWN_PRODUCT, f"no product named {product!r}")
    return snapshot.rows(query + " AND product_id = :product ORDER BY id", pattern=pattern, product=found["id"])
