"""The signed status document's payload (docs/web-api.md, section 2); signed after the batch commits."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from licentia.core.clock import to_iso
from licentia.server.devices.decide import Decision
from licentia.server.devices.rows import machine_components
from licentia.server.policies.terms import entitlements_at, offer

if TYPE_CHECKING:  # the rows' types: for mypy only, never imported at run time
    from licentia.server.devices.row_types import CheckProductRow, CustomerLicenseRow, DeviceRow, PolicyRow


def status_document(
    *,
    product: CheckProductRow,
    terms: PolicyRow,
    device: DeviceRow,
    decision: Decision,
    license_row: CustomerLicenseRow | None,
    token: str | None,
    clone_suspected: bool,
    releases: Sequence[Mapping[str, Any]],
    now: dt.datetime,
    registered_at: dt.datetime | None = None,
) -> dict[str, Any]:
    """What the installation may do, as of ``now``.

    ``device`` carries its machine's columns; ``registered_at`` is when it took its license; ``terms`` is the policy the
    installation follows (its license's, with the license's overrides, or the
    product's default); ``releases`` are the channel's, newest first.
    """
    trial_end = device.m_trial_end
    issued_at = to_iso(now)
    entitlements, features = entitlements_at(
        terms, license_row.features if license_row is not None else None, issued_at
    )
    maintenance = None
    if license_row is None:
        latest, _beyond = offer(releases, None)
    else:
        until = license_row.maintenance_until
        latest, beyond = offer(releases, until)
        maintenance = {
            "until": to_iso(until) if until else None,
            # A newer version exists that this license's maintenance does not cover (an upgrade to sell).
            "newer_release": None if beyond is None else {"version": beyond["version"], "channel": beyond["channel"]},
        }
    document = {
        "v": 1,
        "product": product.slug,
        "device": device.id,
        "machine": device.machine_id,
        "device_id": device.external_id,
        # The machine's hardware as the server knows it: the SDK compares a
        # fresh reading with these offline, so a copy on other hardware is denied.
        "components": {k: v for k, v in machine_components(device).items() if v},
        "data_path": device.data_path_hash,
        "min_match": product.fingerprint_min_match,
        "status": decision.effective,
        "reason": decision.effective_reason,
        "allowed": decision.allowed,
        "trial_end": to_iso(trial_end) if trial_end else None,
        "license": None
        if license_row is None
        else {
            "key_prefix": license_row.key_prefix,
            "state": license_row.state,
            "expires_at": to_iso(license_row.expires_at) if license_row.expires_at else None,
            "policy": terms.name,
            "kind": terms.kind,
            "customer": _customer(license_row),
        },
        # The person signed in on this installation, on a license whose seats are users (server/users/).
        "user": device.user_email if license_row is not None and terms.seat_unit == "user" else None,
        "features": features,
        "entitlements": entitlements,
        "maintenance": maintenance,
        "issued_at": issued_at,
        "lease_until": to_iso(now + dt.timedelta(days=terms.lease_days)),
        "grace_days": terms.grace_days,
        "usage_report_days": terms.usage_report_days or product.trial_days + 1,
        "token": token,
        "clone_suspected": clone_suspected,
        "latest_release": None if latest is None else latest["summary"],
    }
    # Hitek's proxy-log trail and one-time usage post (core.trail), named only when on: documents of products
    # without them stay as they were.
    if product.proxy_trail:
        document["proxy_trail"] = True
    if product.usage_report_once:
        document["usage_report_once"] = True
        if registered_at is not None:
            document["registered_at"] = to_iso(registered_at)
    return document


def _customer(license_row: CustomerLicenseRow) -> dict[str, Any] | None:
    """The licensee: the customer's id (as in the developer API) and the display name the vendor gave it."""
    if license_row.customer_id is None:
        return None
    return {"id": license_row.customer_id, "name": license_row.customer_name or ""}
