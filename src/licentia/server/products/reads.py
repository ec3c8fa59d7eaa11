"""What the read-only ``licentia product`` commands show, read from a :class:`Snapshot`."""

from __future__ import annotations

from licentia.server.errors import ApiError, ErrorCode
from licentia.server.store.snapshot import Snapshot

TYPE_CHECKING = False  # typing is not imported: see store/snapshot.py
if TYPE_CHECKING:
    from typing import Any


def product_list(snapshot: Snapshot) -> list[dict[str, Any]]:
    return snapshot.rows("SELECT slug, name FROM products ORDER BY slug")


def product_view(snapshot: Snapshot, slug: str) -> dict[str, Any]:
    """The product, its default policy (without row ids), its license types' names and its public keys, oldest first."""
    product = snapshot.row(
        "SELECT id, slug, name, collect_facts, proxy_trail, usage_report_once FROM products WHERE slug = :slug",
        slug=slug,
    )
    if product is None:
        raise ApiError(ErrorCode.UNKNOWN_PRODUCT, f"no product named {slug!r}")
    policy = snapshot.row("SELECT * FROM policies WHERE product_id = :id AND is_default", id=product["id"]) or {}
    types = snapshot.rows("SELECT name FROM policies WHERE product_id = :id ORDER BY name", id=product["id"])
    keys = snapshot.rows("SELECT public_key FROM signing_keys WHERE product_id = :id ORDER BY id", id=product["id"])
    return {
        "slug": product["slug"],
        "name": product["name"],
        "collect_facts": product["collect_facts"],
        "proxy_trail": bool(product["proxy_trail"]),
        "usage_report_once": bool(product["usage_report_once"]),
        "policy": {
            k: (v.isoformat() if hasattr(v, "isoformat") else v)
            for k, v in policy.items()
            if k not in ("id", "product_id")
        },
        "license_types": [row["name"] for row in types],
        "public_keys": [key["public_key"] for key in keys],
    }
