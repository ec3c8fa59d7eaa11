"""The signed lease document: what a machine may do while it holds a floating seat.

Signed with the product's key in the same envelope as the status document
(``core.signing``), so an application verifies both the same way. It names the
machine's hardware (``components``, ``min_match``): the SDK compares a fresh
reading with them, so a document copied to another computer grants nothing.
``type`` keeps it apart from a status document: neither can pass for the other.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from licentia.core.clock import to_iso
from licentia.server.policies.terms import entitlements_at

if TYPE_CHECKING:  # the rows' types: for mypy only, never imported at run time
    from licentia.server.devices.row_types import LicenseTermsRow, PolicyRow, ProductRow
    from licentia.server.leases.row_types import LeaseRow

DOCUMENT_TYPE = "floating_lease"
# The SDK heartbeats this many times per lease time, so two lost heartbeats in a row still keep the seat.
HEARTBEATS_PER_LEASE = 3


def lease_document(
    *,
    product: ProductRow,
    lease: LeaseRow,
    license_row: LicenseTermsRow,
    terms: PolicyRow,
    components: dict[str, Any],
    now: dt.datetime,
) -> dict[str, Any]:
    issued_at = to_iso(now)
    entitlements, features = entitlements_at(terms, license_row.features, issued_at)
    lease_seconds = int(terms.floating_lease_seconds)
    return {
        "v": 1,
        "type": DOCUMENT_TYPE,
        "product": product.slug,
        "lease": lease.id,
        "device": lease.device_id,
        "machine": lease.machine_id,
        "components": {name: value for name, value in components.items() if value},
        "min_match": product.fingerprint_min_match,
        "license": {
            "key_prefix": license_row.key_prefix,
            "policy": terms.name,
            "kind": terms.kind,
            "expires_at": to_iso(license_row.expires_at) if license_row.expires_at else None,
        },
        "issued_at": issued_at,
        "expires_at": to_iso(lease.expires_at),
        "borrowed": lease.borrowed_until is not None,
        "lease_seconds": lease_seconds,
        "heartbeat_seconds": max(1, lease_seconds // HEARTBEATS_PER_LEASE),
        "entitlements": entitlements,
        "features": features,
    }
