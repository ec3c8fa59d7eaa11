"""The statements of checkout and heartbeat, written once for the driver (see ``store.raw``).

A checkout is a handful of indexed statements and a heartbeat fewer; through
SQLAlchemy's per-call compilation each would cost more than the database's own
work, so they run as plain SQL on the transaction's connection, like the
status check's.
"""

from __future__ import annotations

import hmac
import time
import weakref
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from licentia.server.devices.rows import DEVICE_BY_ID, sha256
from licentia.server.errors import ApiError, ErrorCode
from licentia.server.store.raw import Record, Statement

if TYPE_CHECKING:  # the rows' types: for mypy only, never imported at run time
    from licentia.server.devices.row_types import DeviceRow, LicenseTermsRow, ProductRow
    from licentia.server.leases.row_types import BeatingLeaseRow

_LEASE_KW: dict[str, Any] = {"datetimes": ("created_at", "heartbeat_at", "expires_at", "borrowed_until", "ended_at")}
_PRODUCT = """
    SELECT p.id, p.slug, p.collect_facts, o.id AS policy_id, o.fingerprint_min_match, k.kid
    FROM products p JOIN policies o ON o.product_id = p.id AND o.is_default
    JOIN signing_keys k ON k.product_id = p.id AND k.retired_at IS NULL
    WHERE {where} ORDER BY k.id DESC LIMIT 1"""
PRODUCT_BY_SLUG = Statement(_PRODUCT.format(where="p.slug = :slug"), booleans=("collect_facts",))
PRODUCT_BY_ID = Statement(_PRODUCT.format(where="p.id = :id"), booleans=("collect_facts",))
# The license of a key (its columns null when none is), with the machine's wrong keys in the rate
# limit's current window: one round trip instead of two.
LICENSE_BY_KEY = Statement(
    "SELECT (SELECT count FROM rate_limits WHERE bucket = :bucket AND window_start = :window_start) AS wrong_keys,"
    " l.* FROM (SELECT 1 AS one) one"
    " LEFT JOIN licenses l ON l.key_hash = :key_hash AND l.product_id = :product_id",
    datetimes=("expires_at", "created_at", "updated_at", "maintenance_until", "first_activated_at"),
    json_columns=("features", "policy_overrides"),
)
LOCK_LICENSE = Statement("SELECT id FROM licenses WHERE id = :id FOR UPDATE")
RECLAIM = Statement(
    "UPDATE leases SET ended_at = expires_at, end_reason = 'expired'"
    " WHERE license_id = :license_id AND ended_at IS NULL AND expires_at <= :now"
)
# The machines holding a live lease of the license, counted in the database (a site license's thousand
# seats are one row here): how many, when the first of them frees, and whether ``machine`` is one.
SEATS_TAKEN = Statement(
    "SELECT COUNT(*) AS machines, MIN(ends) AS first_end,"
    " COALESCE(SUM(CASE WHEN machine_id = :machine_id THEN 1 ELSE 0 END), 0) AS mine"
    " FROM (SELECT machine_id, MAX(expires_at) AS ends FROM leases"
    " WHERE license_id = :license_id AND ended_at IS NULL GROUP BY machine_id) held",
    datetimes=("first_end",),
)
# This installation's live lease of the license, if it holds one (an expired one is reclaimed, not renewed).
LIVE_LEASE_OF = Statement(
    "SELECT * FROM leases WHERE license_id = :license_id AND device_id = :device_id AND ended_at IS NULL"
    " AND expires_at > :now",
    **_LEASE_KW,
)
# The rate limit's count in its current window (``ratelimit.peek``, without SQLAlchemy's per-call work).
WRONG_KEYS = Statement("SELECT count FROM rate_limits WHERE bucket = :bucket AND window_start = :window_start")
OWN_LEASE = Statement("SELECT * FROM leases WHERE id = :id AND device_id = :device_id", **_LEASE_KW)
# A heartbeat's lease with what it needs of its license (``l_*``): one round trip instead of two.
_LICENSE_OF_LEASE = ("state", "expires_at", "policy_id", "policy_overrides", "features", "key_prefix")
BEATING_LEASE = Statement(
    "SELECT le.*, l.state AS l_state, l.expires_at AS l_expires_at, l.policy_id AS l_policy_id,"
    " l.policy_overrides AS l_policy_overrides, l.features AS l_features, l.key_prefix AS l_key_prefix"
    " FROM leases le JOIN licenses l ON l.id = le.license_id WHERE le.id = :id AND le.device_id = :device_id",
    datetimes=(*_LEASE_KW["datetimes"], "l_expires_at"),
    json_columns=("l_policy_overrides", "l_features"),
)
INSERT_LEASE = Statement(
    "INSERT INTO leases (id, product_id, license_id, machine_id, device_id, created_at, heartbeat_at, expires_at,"
    " borrowed_until) VALUES (:id, :product_id, :license_id, :machine_id, :device_id, :created_at, :heartbeat_at,"
    " :expires_at, :borrowed_until)"
)
RENEW_LEASE = Statement(
    "UPDATE leases SET heartbeat_at = :heartbeat_at, expires_at = :expires_at, borrowed_until = :borrowed_until"
    " WHERE id = :id"
)
# Compare-and-set: only a lease still live moves (one reclaimed meanwhile by a checkout elsewhere stays ended).
HEARTBEAT = Statement(
    "UPDATE leases SET heartbeat_at = :now, expires_at = :expires_at"
    " WHERE id = :id AND ended_at IS NULL AND expires_at > :now"
)

# Per app (its checker), per slug or id: the product row, for as long as the product cache lasts.
_products: weakref.WeakKeyDictionary[Any, dict[Any, tuple[float, ProductRow]]] = weakref.WeakKeyDictionary()


def product(
    conn: sa.Connection, owner: Any, ttl: float, *, slug: str | None = None, product_id: int | None = None
) -> ProductRow | None:
    """The product with its default policy's id and ``fingerprint_min_match`` and its current key id, or None."""
    cache = _products.setdefault(owner, {})
    key = slug if slug is not None else product_id
    now = time.monotonic()
    cached = cache.get(key)
    if cached is not None and now - cached[0] < ttl:
        return cached[1]
    row = PRODUCT_BY_SLUG.first(conn, slug=slug) if slug is not None else PRODUCT_BY_ID.first(conn, id=product_id)
    if row is not None:
        cache[key] = (now, row)
    return row


def installation(conn: sa.Connection, credential: tuple[str, str] | None) -> DeviceRow:
    """The calling installation with its machine's columns (``m_*``), or 401: an id alone is never enough."""
    if credential is None:
        raise ApiError(
            ErrorCode.INVALID_CREDENTIAL, "this call needs the device credential (Authorization: Device ...)"
        )
    device_id, secret = credential
    row = DEVICE_BY_ID.first(conn, id=device_id)
    if row is None or not hmac.compare_digest(sha256(secret), row.secret_hash):
        raise ApiError(ErrorCode.INVALID_CREDENTIAL, "unknown device or wrong device secret")
    return row


def license_of(lease: BeatingLeaseRow) -> LicenseTermsRow:
    """The license columns a :data:`BEATING_LEASE` row carries, as a license row."""
    return Record({"id": lease.license_id, **{c: lease[f"l_{c}"] for c in _LICENSE_OF_LEASE}})
