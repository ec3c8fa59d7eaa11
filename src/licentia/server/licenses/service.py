"""Issuing and changing licenses (shared by the CLI, the admin UI and the developer API)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from cryptography.fernet import Fernet
from sqlalchemy.dialects import postgresql, sqlite

from licentia.core.clock import to_iso
from licentia.core.licensekeys import generate_key, key_hash, key_prefix
from licentia.core.status import LicenseState
from licentia.server.errors import ApiError, ErrorCode
from licentia.server.notify.catalog import WebhookEvent, license_event
from licentia.server.notify.sealing import seal_value
from licentia.server.policies.knobs import check_complete, validate_knobs
from licentia.server.policies.service import default_policy, get_policy
from licentia.server.policies.terms import effective, sale_terms
from licentia.server.products.service import get_product
from licentia.server.store.tables import customers, licenses, purchases


@dataclass(frozen=True)
class IssuedLicense:
    id: int
    key: str
    key_prefix: str
    customer_id: int
    purchase_id: int | None


class OrderRefInUse(ApiError):
    """The order reference already names a purchase (unique per source); ``license_id`` is its license."""

    def __init__(self, *, order_ref: str, source: str, license_id: int | None, key_prefix: str | None) -> None:
        owner = f"license {license_id} ({key_prefix}…)" if license_id is not None else "another purchase"
        message = f"order reference {order_ref!r} ({source}) is already used by {owner}"
        super().__init__(ErrorCode.ORDER_REF_IN_USE, message)
        self.license_id = license_id
        self.key_prefix = key_prefix


def _add_purchase(conn: sa.Connection, values: dict[str, Any]) -> int:
    """Insert a purchase, or raise OrderRefInUse when its (source, order_ref) exists.

    ON CONFLICT DO NOTHING rather than a caught IntegrityError: on PostgreSQL an
    error aborts the whole transaction, and two concurrent issues of one order
    must both end cleanly (the second waits for the first and then finds it).
    """
    insert = (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(purchases)
    stmt = insert.values(**values).on_conflict_do_nothing(index_elements=["source", "order_ref"])
    purchase_id = conn.execute(stmt.returning(purchases.c.id)).scalar()
    if purchase_id is not None:
        return int(purchase_id)
    owner = conn.execute(
        sa.select(licenses.c.id, licenses.c.key_prefix)
        .join(purchases, purchases.c.id == licenses.c.purchase_id)
        .where(purchases.c.source == values["source"], purchases.c.order_ref == values["order_ref"])
        .order_by(licenses.c.id)
        .limit(1)
    ).first()
    raise OrderRefInUse(
        order_ref=values["order_ref"],
        source=values["source"],
        license_id=owner.id if owner else None,
        key_prefix=owner.key_prefix if owner else None,
    )


def find_or_create_customer(conn: sa.Connection, *, email: str, name: str | None, now: dt.datetime) -> int:
    email = email.strip()
    if "@" not in email or len(email) > 320:
        raise ApiError(ErrorCode.INVALID_EMAIL, f"{email!r} is not an email address")
    row = conn.execute(sa.select(customers.c.id).where(customers.c.email == email).limit(1)).first()
    if row:
        if name:
            conn.execute(customers.update().where(customers.c.id == row.id).values(name=name))
        return int(row.id)
    return int(
        conn.execute(
            customers.insert().values(email=email, name=name, created_at=now).returning(customers.c.id)
        ).scalar_one()
    )


def issue_license(
    conn: sa.Connection,
    *,
    product: str,
    email: str,
    now: dt.datetime,
    name: str | None = None,
    max_devices: int | None = None,
    expires_at: dt.datetime | None = None,
    features: list[str] | None = None,
    order_ref: str | None = None,
    source: str = "manual",
    policy: str | None = None,
    overrides: dict[str, Any] | None = None,
    maintenance_until: dt.datetime | None = None,
    fernet: Fernet | None = None,
) -> IssuedLicense:
    """Create a license (and its customer and purchase); the clear key is returned once, never stored in clear.

    ``fernet`` (the server's key) keeps the key sealed beside its hash, so that
    staff can email it again later (``licenses.resend``); every path that sells
    or hands out a license (and the demo) passes it. Without it the key exists
    only hashed, and can be resent only while its first email waits.

    The license follows ``policy`` (a name; the product's default when None)
    with ``overrides`` of single knobs. The sale's terms are fixed now: the
    expiry (``expires_at`` if given, else from the policy's expiry mode) and
    the end of maintenance (``maintenance_until`` if given, else from
    ``maintenance_days``).
    """
    prod = get_product(conn, product)
    type_row = default_policy(conn, prod.id) if policy is None else get_policy(conn, product=product, name=policy)
    clean = validate_knobs(overrides or {})
    if max_devices is not None:
        clean.update(validate_knobs({"max_devices": max_devices}))
    stored_overrides = {k: (to_iso(v) if isinstance(v, dt.datetime) else v) for k, v in clean.items()}
    terms = effective(dict(type_row._mapping), stored_overrides)
    check_complete(dict(terms))
    policy_expiry, policy_maintenance = sale_terms(terms, now)
    expires_at = expires_at if expires_at is not None else policy_expiry
    if expires_at is not None and expires_at <= now:
        raise ApiError(ErrorCode.INVALID_EXPIRY, "the expiry date is in the past")
    if maintenance_until is None:
        maintenance_until = policy_maintenance
    customer_id = find_or_create_customer(conn, email=email, name=name, now=now)
    purchase_id = None
    if order_ref:
        purchase_id = _add_purchase(
            conn,
            {
                "customer_id": customer_id,
                "product_id": prod.id,
                "order_ref": order_ref,
                "source": source,
                "purchased_at": now,
            },
        )
    key = generate_key()
    license_id = conn.execute(
        licenses.insert()
        .values(
            product_id=prod.id,
            purchase_id=purchase_id,
            customer_id=customer_id,
            key_prefix=key_prefix(key),
            key_hash=key_hash(key),
            key_sealed=seal_value(key, fernet) if fernet is not None else None,
            state=LicenseState.ACTIVE.value,
            expires_at=expires_at,
            features=sorted(set(features or [])),
            policy_id=type_row.id,
            policy_overrides=stored_overrides,
            maintenance_until=maintenance_until,
            first_activated_at=None,
            created_at=now,
            updated_at=now,
        )
        .returning(licenses.c.id)
    ).scalar_one()
    license_event(
        conn, WebhookEvent.LICENSE_CREATED, license_id=int(license_id), now=now, cause="issued", source=source
    )
    return IssuedLicense(int(license_id), key, key_prefix(key), customer_id, purchase_id)


_STATE_EVENTS = {
    LicenseState.SUSPENDED.value: WebhookEvent.LICENSE_SUSPENDED,
    LicenseState.ACTIVE.value: WebhookEvent.LICENSE_REINSTATED,
    LicenseState.REVOKED.value: WebhookEvent.LICENSE_REVOKED,
    LicenseState.EXPIRED.value: WebhookEvent.LICENSE_EXPIRED,
}


def set_license_state(conn: sa.Connection, *, license_id: int, state: str, now: dt.datetime) -> None:
    if state not in {s.value for s in LicenseState}:
        raise ApiError(ErrorCode.INVALID_STATE, f"unknown license state {state!r}")
    done = conn.execute(
        licenses.update().where(licenses.c.id == license_id).values(state=state, updated_at=now)
    ).rowcount
    if not done:
        raise ApiError(ErrorCode.UNKNOWN_LICENSE, f"no license {license_id}")
    event = _STATE_EVENTS.get(state)
    if event is not None:
        license_event(conn, event, license_id=license_id, now=now, cause=f"{state}:{now.isoformat()}")
