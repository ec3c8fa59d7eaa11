"""What an evidence report is about: one license key or one device, with its whole timeline.

A license's timeline is every event of every device ever bound to it (devices
bound now, and devices whose events name the license: activations, refused
activations beyond the seat limit, clones), so a copy that was refused a seat
still shows up in the report against the key it tried.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from licentia.core.licensekeys import KeyFormatError, key_hash, normalize_key
from licentia.server.adminapi.schemas import MAX_ROW_ID
from licentia.server.errors import ApiError, ErrorCode
from licentia.server.store.models import Customer, Device, Event, License, Product, table_of

licenses = table_of(License)
devices = table_of(Device)
events = table_of(Event)
products = table_of(Product)
customers = table_of(Customer)

# A license's report reads at most this many events; a larger history is cut
# (newest kept) and the report says so rather than exhausting the server.
MAX_EVENTS = 20_000


@dataclass
class Subject:
    kind: str  # "license" | "device"
    product: Any
    license: Any | None
    customer: Any | None
    devices: list[Any] = field(default_factory=list)
    events: list[Any] = field(default_factory=list)
    truncated: bool = False

    @property
    def label(self) -> str:
        if self.kind == "license" and self.license is not None:
            return f"license {self.license.key_prefix} (id {self.license.id})"
        return f"device {self.devices[0].id}" if self.devices else "device"


def find_license(conn: sa.Connection, ref: str) -> Any:
    """A license by id, full key (matched by hash, never stored) or key prefix; ambiguity is an error."""
    text = ref.strip()
    try:
        full = normalize_key(text)
    except KeyFormatError:
        full = None
    if full is not None:
        row = conn.execute(sa.select(licenses).where(licenses.c.key_hash == key_hash(full))).first()
        if row is None:
            raise ApiError(ErrorCode.UNKNOWN_LICENSE, "no license with this key")
        return row
    # ASCII digits only ("²" is a digit to str.isdigit, not to int), and within a
    # row id's 64 bits: a longer number is tried as a key prefix, never bound as an id.
    if text.isascii() and text.isdigit() and int(text) <= MAX_ROW_ID:
        row = conn.execute(sa.select(licenses).where(licenses.c.id == int(text))).first()
        if row is not None:
            return row
    prefix = text.replace("-", "").upper()
    if len(prefix) < 3:
        raise ApiError(
            ErrorCode.INVALID_REFERENCE, "give a license id, a full key or at least 3 characters of its prefix"
        )
    rows = conn.execute(
        sa.select(licenses).where(licenses.c.key_prefix.startswith(prefix[:8])).order_by(licenses.c.id).limit(11)
    ).all()
    if not rows:
        raise ApiError(ErrorCode.UNKNOWN_LICENSE, f"no license whose key starts with {prefix[:8]!r}")
    if len(rows) > 1:
        ids = ", ".join(str(r.id) for r in rows[:10])
        raise ApiError(ErrorCode.AMBIGUOUS_LICENSE, f"several licenses match {prefix[:8]!r} (ids {ids}); give the id")
    return rows[0]


def _timeline(conn: sa.Connection, condition: Any) -> tuple[list[Any], bool]:
    rows: list[Any] = list(
        conn.execute(sa.select(events).where(condition).order_by(events.c.id.desc()).limit(MAX_EVENTS + 1)).all()
    )
    kept = sorted(rows[:MAX_EVENTS], key=lambda r: (r.received_at, r.id))
    return kept, len(rows) > MAX_EVENTS


def _product_and_customer(conn: sa.Connection, product_id: int, customer_id: int | None) -> tuple[Any, Any]:
    product = conn.execute(sa.select(products).where(products.c.id == product_id)).one()
    customer = None
    if customer_id is not None:
        customer = conn.execute(sa.select(customers).where(customers.c.id == customer_id)).first()
    return product, customer


def license_subject(conn: sa.Connection, ref: str) -> Subject:
    lic = find_license(conn, ref)
    device_ids = set(conn.execute(sa.select(devices.c.id).where(devices.c.license_id == lic.id)).scalars())
    device_ids |= {
        d
        for d in conn.execute(sa.select(events.c.device_id).where(events.c.license_id == lic.id).distinct()).scalars()
        if d is not None
    }
    condition = events.c.license_id == lic.id
    if device_ids:
        condition = sa.or_(condition, events.c.device_id.in_(sorted(device_ids)))
    timeline, truncated = _timeline(conn, condition)
    rows = (
        conn.execute(
            sa.select(devices).where(devices.c.id.in_(sorted(device_ids))).order_by(devices.c.first_seen)
        ).all()
        if device_ids
        else []
    )
    product, customer = _product_and_customer(conn, lic.product_id, lic.customer_id)
    return Subject("license", product, lic, customer, list(rows), timeline, truncated)


def device_subject(conn: sa.Connection, device_id: str) -> Subject:
    row = conn.execute(sa.select(devices).where(devices.c.id == device_id.strip())).first()
    if row is None:
        raise ApiError(ErrorCode.UNKNOWN_DEVICE, f"no device {device_id!r}")
    lic = None
    if row.license_id is not None:
        lic = conn.execute(sa.select(licenses).where(licenses.c.id == row.license_id)).first()
    timeline, truncated = _timeline(conn, events.c.device_id == row.id)
    product, customer = _product_and_customer(conn, row.product_id, lic.customer_id if lic is not None else None)
    return Subject("device", product, lic, customer, [row], timeline, truncated)
