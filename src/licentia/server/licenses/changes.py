"""A license's life after issue: suspend, reinstate, revoke, renew, resize; and issuing with the key email.

Every function audits its change in the same transaction, so the log cannot
miss a change that was committed (nor show one that was rolled back).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from cryptography.fernet import Fernet

from licentia.core.clock import to_iso
from licentia.core.status import LicenseState
from licentia.server.audit import AuditAction, record
from licentia.server.devices.changes import installations_of, unbind
from licentia.server.errors import ApiError, ErrorCode
from licentia.server.licenses.key_email import license_email_key, send_license_key
from licentia.server.licenses.schemas import LicenseOrder, TermsChange
from licentia.server.licenses.service import IssuedLicense, issue_license, set_license_state
from licentia.server.licenses.views import get_license
from licentia.server.notify.catalog import WebhookEvent, license_event
from licentia.server.policies.knobs import KNOB_NAMES, check_complete, validate_knobs
from licentia.server.policies.service import get_policy, policy_by_id
from licentia.server.policies.terms import MERGED_BY_NAME, effective
from licentia.server.products.service import get_product, validate_policy
from licentia.server.store.tables import devices, licenses, products

MAX_EXTENSION_DAYS = 36500
# How each change of state (``change_state``'s ``action``) is written in the audit log.
AUDITED_STATES = {
    "suspend": AuditAction.LICENSE_SUSPEND,
    "reinstate": AuditAction.LICENSE_REINSTATE,
    "revoke": AuditAction.LICENSE_REVOKE,
}


def issue_and_email(
    conn: sa.Connection,
    order: LicenseOrder,
    *,
    actor: str,
    now: dt.datetime,
    fernet: Fernet,
    reply_to: str | None = None,
    **audit: Any,
) -> IssuedLicense:
    """Issue the license ``order`` asks for and, if it says so, queue the key to the customer (same transaction).

    ``fernet`` (the server's key) seals the key in the queued email and in the license row;
    ``audit`` adds details to the audit entry (a payment's mapped license type).
    """
    issued = issue_license(conn, now=now, fernet=fernet, **order.model_dump(exclude={"send_email"}))
    email = order.email.strip()
    if order.send_email:
        prod = get_product(conn, order.product)
        # The outbox row holds the key only sealed with the server's key.
        send_license_key(
            conn,
            license_id=issued.id,
            key=issued.key,
            to=email,
            customer_name=order.name,
            product_name=prod.name,
            now=now,
            dedupe_key=license_email_key(issued.id),
            fernet=fernet,
            reply_to=reply_to,
        )
    record(
        conn,
        AuditAction.LICENSE_ISSUE,
        issued.id,
        actor=actor,
        now=now,
        product=order.product,
        email=email,
        key_prefix=issued.key_prefix,
        order_ref=order.order_ref,
        **audit,
        emailed=order.send_email,
    )
    return issued


def change_state(
    conn: sa.Connection, *, license_id: int, action: str, actor: str, now: dt.datetime, reason: str | None = None
) -> str:
    """``suspend`` | ``reinstate`` | ``revoke``; revoking frees every seat of the license.

    ``reason`` (a refund, a leaked key) is kept in the audit entry, for whoever reads the history later.
    """
    target = {"suspend": "suspended", "reinstate": "active", "revoke": "revoked"}.get(action)
    if target is None:
        raise ApiError(ErrorCode.INVALID_ACTION, f"unknown license action {action!r}")
    row = get_license(conn, license_id)
    if row.state == LicenseState.REVOKED.value and action != "revoke":
        # A revoked key was refunded or leaked: it never comes back; issue a new one instead.
        raise ApiError(ErrorCode.LICENSE_REVOKED, "a revoked license cannot change state; issue a new one", 409)
    set_license_state(conn, license_id=license_id, state=target, now=now)
    freed = 0
    if action == "revoke":
        bound = installations_of(conn, devices.c.license_id == license_id)
        for device in bound:
            unbind(conn, row=device, now=now, reason="license_revoked")
        freed = len(bound)
    record(
        conn,
        AUDITED_STATES[action],
        license_id,
        actor=actor,
        now=now,
        previous=row.state,
        devices_freed=freed,
        reason=reason,
    )
    return target


def renew(
    conn: sa.Connection,
    *,
    license_id: int,
    actor: str,
    now: dt.datetime,
    expires_at: dt.datetime | None = None,
    days: int | None = None,
) -> dt.datetime | None:
    """Set a new expiry (``expires_at``), or push it ``days`` past the later of now and the old expiry."""
    row = get_license(conn, license_id)
    if row.state == LicenseState.REVOKED.value:
        raise ApiError(ErrorCode.LICENSE_REVOKED, "a revoked license cannot be renewed", 409)
    if days is not None:
        if not 1 <= days <= MAX_EXTENSION_DAYS:
            raise ApiError(ErrorCode.INVALID_DAYS, f"days must be between 1 and {MAX_EXTENSION_DAYS}")
        expires_at = max(row.expires_at or now, now) + dt.timedelta(days=days)
    elif expires_at is not None and expires_at <= now:
        raise ApiError(ErrorCode.INVALID_EXPIRY, "the new expiry date is in the past")
    values: dict[str, Any] = {"expires_at": expires_at, "updated_at": now}
    if row.state == LicenseState.EXPIRED.value:
        values["state"] = LicenseState.ACTIVE.value
    conn.execute(licenses.update().where(licenses.c.id == license_id).values(**values))
    license_event(
        conn, WebhookEvent.LICENSE_RENEWED, license_id=license_id, now=now, cause=f"renewed:{now.isoformat()}"
    )
    record(
        conn,
        AuditAction.LICENSE_RENEW,
        license_id,
        actor=actor,
        now=now,
        previous=row.expires_at.isoformat() if row.expires_at else None,
        expires_at=expires_at.isoformat() if expires_at else None,
    )
    return expires_at


def set_max_devices(conn: sa.Connection, *, license_id: int, max_devices: int, actor: str, now: dt.datetime) -> None:
    """Seats already bound stay bound when lowering; new activations wait until enough are freed."""
    row = get_license(conn, license_id)
    overrides = {**(row.policy_overrides or {}), **validate_policy({"max_devices": max_devices})}
    conn.execute(
        licenses.update().where(licenses.c.id == license_id).values(policy_overrides=overrides, updated_at=now)
    )
    record(
        conn,
        AuditAction.LICENSE_MAX_DEVICES,
        license_id,
        actor=actor,
        now=now,
        previous=(row.policy_overrides or {}).get("max_devices"),
        max_devices=max_devices,
    )


def change_terms(conn: sa.Connection, change: TermsChange, *, license_id: int, actor: str, now: dt.datetime) -> None:
    """Make the ``change`` to a license's terms (its type, single knobs, its maintenance end).

    A license's expiry is changed with :func:`renew`. Moving to another policy
    changes the live terms at the next check; the sale's terms (expiry,
    maintenance end) stay unless given here.
    """
    if change.maintenance_until is not None and change.maintenance_until.tzinfo is None:
        raise ApiError(ErrorCode.INVALID_DATE, "give maintenance_until with a time zone (e.g. 2027-01-01T00:00:00Z)")
    row = get_license(conn, license_id)
    if row.state == LicenseState.REVOKED.value:
        raise ApiError(ErrorCode.LICENSE_REVOKED, "a revoked license cannot change; issue a new one", 409)
    product = conn.execute(sa.select(products.c.slug).where(products.c.id == row.product_id)).scalar_one()
    target = (
        policy_by_id(conn, row.policy_id)
        if change.policy is None
        else get_policy(conn, product=product, name=change.policy)
    )
    overrides = dict(row.policy_overrides or {})
    for name in change.unset:
        if name not in KNOB_NAMES:
            raise ApiError(ErrorCode.INVALID_POLICY, f"unknown policy setting {name!r}")
        overrides.pop(name, None)
    clean = validate_knobs(change.set)
    for name, value in clean.items():
        if name in MERGED_BY_NAME:
            value = {**overrides.get(name, {}), **value}
        overrides[name] = to_iso(value) if isinstance(value, dt.datetime) else value
    check_complete(dict(effective(dict(target._mapping), overrides)))
    values: dict[str, Any] = {"policy_id": target.id, "policy_overrides": overrides, "updated_at": now}
    if change.maintenance_forever:
        values["maintenance_until"] = None
    elif change.maintenance_until is not None:
        values["maintenance_until"] = change.maintenance_until
    conn.execute(licenses.update().where(licenses.c.id == license_id).values(**values))
    record(
        conn,
        AuditAction.LICENSE_TERMS,
        license_id,
        actor=actor,
        now=now,
        policy=target.name,
        previous_policy=row.policy_id,
        overrides=overrides,
        maintenance_until=to_iso(values["maintenance_until"]) if values.get("maintenance_until") else None,
    )
