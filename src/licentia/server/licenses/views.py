"""A license as the admin UI, the developer API, the CLI and its certificate show it: one read, shared."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa

from licentia.core.clock import to_iso
from licentia.server.devices.changes import installations_of
from licentia.server.devices.transfers import standing
from licentia.server.errors import ErrorCode, existing
from licentia.server.policies.choices import SeatKind
from licentia.server.policies.service import policy_by_id
from licentia.server.policies.terms import effective, entitlements_at, frees_at
from licentia.server.store.raw import Record
from licentia.server.store.tables import customers, devices, leases, licenses, products


def get_license(conn: sa.Connection, license_id: int) -> sa.Row[Any]:
    row = conn.execute(sa.select(licenses).where(licenses.c.id == license_id)).first()
    return existing(row, ErrorCode.UNKNOWN_LICENSE, f"no license {license_id}")


def license_view(
    conn: sa.Connection, license_id: int, now: dt.datetime | None = None, *, seats_at: dt.datetime | None = None
) -> dict[str, Any]:
    """A license with its customer, product, license type and seat use, as the UI and the API show it.

    Entitlements expired at ``now`` are left out; without ``now`` all are shown with their expiry.
    A floating license's seats in use are its leases live at ``seats_at`` (default: ``now``, else the clock),
    and so are the transfers counted in its type's period (``transfers``: devices/transfers.py).
    """
    row = get_license(conn, license_id)
    product = conn.execute(sa.select(products).where(products.c.id == row.product_id)).one()
    customer = None
    if row.customer_id is not None:
        customer = conn.execute(sa.select(customers).where(customers.c.id == row.customer_id)).first()
    policy = policy_by_id(conn, row.policy_id)
    terms = effective(dict(policy._mapping), row.policy_overrides)
    # Seats count machines: two installations on one machine hold one seat. A floating license's
    # seats are its live leases (docs/licensing-models.md, "Floating licenses"), not activations.
    at = seats_at or now or dt.datetime.now(dt.UTC)
    if terms["kind"] == SeatKind.FLOATING:
        used = conn.execute(
            sa.select(sa.func.count(sa.distinct(leases.c.machine_id))).where(
                leases.c.license_id == license_id, leases.c.ended_at.is_(None), leases.c.expires_at > at
            )
        ).scalar_one()
    else:
        used = conn.execute(
            sa.select(sa.func.count(sa.distinct(devices.c.machine_id))).where(devices.c.license_id == license_id)
        ).scalar_one()
    entitlements, features = entitlements_at(terms, row.features, to_iso(now) if now is not None else None)
    return {
        "id": row.id,
        "product": product.slug,
        "key_prefix": row.key_prefix,
        "state": row.state,
        "expires_at": row.expires_at,
        "features": features,
        "entitlements": entitlements,
        "policy": policy.name,
        "kind": terms["kind"],
        "seat_unit": terms.get("seat_unit") or "machine",
        "policy_overrides": dict(row.policy_overrides or {}),
        "maintenance_until": row.maintenance_until,
        "first_activated_at": row.first_activated_at,
        "seat_release_days": terms["seat_release_days"],
        "max_devices": int(terms["max_devices"]),
        "devices_used": int(used),
        "transfers": standing(
            conn,
            license_id=license_id,
            limit=terms["transfer_limit"],
            period_days=int(terms["transfer_period_days"] or 365),
            now=at,
        ).as_dict(),
        "customer": None if customer is None else {"id": customer.id, "name": customer.name, "email": customer.email},
        "organisation_id": row.organisation_id,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
    }


def license_devices(conn: sa.Connection, license_id: int) -> list[Any]:
    """The installations holding a seat, most recently seen first, each with ``frees_at`` (its machine's).

    A machine's seat frees ``seat_release_days`` after the last check of any of
    its installations on the license (None: the policy never frees seats).
    """
    row = get_license(conn, license_id)
    policy = policy_by_id(conn, row.policy_id)
    days = effective(dict(policy._mapping), row.policy_overrides)["seat_release_days"]
    bound = installations_of(conn, devices.c.license_id == license_id)
    newest: dict[str, dt.datetime] = {}
    for device in bound:
        newest[device.machine_id] = max(newest.get(device.machine_id, device.last_seen), device.last_seen)
    # A lineage is one installation: one replaced by a recognised reinstall that holds this seat too
    # is folded under it (the reinstall names it: ``previous_id``).
    holders = {device.id for device in bound}
    seats = [
        Record({**device._mapping, "frees_at": frees_at(newest[device.machine_id], days)})
        for device in bound
        if device.superseded_by not in holders
    ]
    return sorted(seats, key=lambda seat: seat["last_seen"], reverse=True)
