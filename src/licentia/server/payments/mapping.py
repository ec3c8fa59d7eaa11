"""Which Licentia product and license type a provider's product or price id sells.

One service shared by the CLI (``licentia payments map``), the developer API
(``/v1/admin/payments/mappings``) and the admin page (``/admin/payments``).
Every change is audited.
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

import sqlalchemy as sa

from licentia.server.audit import AuditAction, record
from licentia.server.errors import ApiError, ErrorCode
from licentia.server.products.service import get_product
from licentia.server.store.tables import email_settings, policies, products
from licentia.server.store.tables import payment_mappings as mappings


class Provider(enum.StrEnum):
    STRIPE = "stripe"
    PADDLE = "paddle"
    FASTSPRING = "fastspring"


class OnRefund(enum.StrEnum):
    SUSPEND = "suspend"
    REVOKE = "revoke"


PROVIDERS = tuple(p.value for p in Provider)
REFUND_ACTIONS = tuple(a.value for a in OnRefund)


def _provider(value: str) -> str:
    if value not in PROVIDERS:
        raise ApiError(ErrorCode.INVALID_PROVIDER, f"provider is one of {', '.join(PROVIDERS)}")
    return value


def add_mapping(
    conn: sa.Connection,
    *,
    provider: str,
    external_id: str,
    product: str,
    actor: str,
    now: dt.datetime,
    policy_id: int | None = None,
    max_devices: int | None = None,
    duration_days: int | None = None,
    features: list[str] | None = None,
    on_refund: str = OnRefund.REVOKE.value,
) -> int:
    provider = _provider(provider)
    external_id = external_id.strip()
    if not 1 <= len(external_id) <= 200 or any(c.isspace() for c in external_id):
        raise ApiError(
            ErrorCode.INVALID_EXTERNAL_ID, "the provider's product or price id is 1-200 characters, no spaces"
        )
    if on_refund not in REFUND_ACTIONS:
        raise ApiError(ErrorCode.INVALID_ON_REFUND, f"on_refund is one of {', '.join(REFUND_ACTIONS)}")
    for name, value in (("max_devices", max_devices), ("duration_days", duration_days)):
        if value is not None and not 1 <= value <= 36500:
            raise ApiError(ErrorCode.INVALID_NUMBER, f"{name} must be between 1 and 36500")
    prod = get_product(conn, product)
    if policy_id is not None:
        # A license type of another product would sell the wrong rules.
        found = (
            None
            if not 1 <= policy_id <= 2**62
            else conn.execute(
                sa.select(policies.c.id).where(policies.c.id == policy_id, policies.c.product_id == prod.id)
            ).first()
        )
        if found is None:
            raise ApiError(ErrorCode.UNKNOWN_POLICY, f"product {product} has no license type {policy_id}")
    exists = conn.execute(
        sa.select(mappings.c.id).where(mappings.c.provider == provider, mappings.c.external_id == external_id)
    ).first()
    if exists:
        raise ApiError(ErrorCode.MAPPING_EXISTS, f"{provider} {external_id} is already mapped; remove it first")
    mapping_id = conn.execute(
        mappings.insert()
        .values(
            provider=provider,
            external_id=external_id,
            product_id=prod.id,
            policy_id=policy_id,
            max_devices=max_devices,
            duration_days=duration_days,
            features=sorted(set(features or [])),
            on_refund=on_refund,
            created_at=now,
        )
        .returning(mappings.c.id)
    ).scalar_one()
    record(
        conn,
        actor=actor,
        action=AuditAction.PAYMENTS_MAP,
        target_id=mapping_id,
        now=now,
        provider=provider,
        external_id=external_id,
        product=product,
        policy_id=policy_id,
        on_refund=on_refund,
    )
    return int(mapping_id)


def remove_mapping(conn: sa.Connection, *, mapping_id: int, actor: str, now: dt.datetime) -> None:
    row = conn.execute(sa.select(mappings).where(mappings.c.id == mapping_id)).first()
    if row is None:
        raise ApiError(ErrorCode.UNKNOWN_MAPPING, f"no payment mapping {mapping_id}")
    conn.execute(mappings.delete().where(mappings.c.id == mapping_id))
    record(
        conn,
        actor=actor,
        action=AuditAction.PAYMENTS_UNMAP,
        target_id=mapping_id,
        now=now,
        provider=row.provider,
        external_id=row.external_id,
    )


def list_mappings(conn: sa.Connection) -> list[dict[str, Any]]:
    rows = conn.execute(
        sa.select(mappings, products.c.slug.label("product"))
        .join(products, products.c.id == mappings.c.product_id)
        .order_by(mappings.c.provider, mappings.c.external_id)
    ).all()
    return [
        {
            "id": r.id,
            "provider": r.provider,
            "external_id": r.external_id,
            "product": r.product,
            "policy_id": r.policy_id,
            "max_devices": r.max_devices,
            "duration_days": r.duration_days,
            "features": list(r.features or []),
            "on_refund": r.on_refund,
            "created_at": r.created_at,
        }
        for r in rows
    ]


def find_mapping(conn: sa.Connection, *, provider: str, external_ids: list[str]) -> Any:
    """The mapping of the first of ``external_ids`` (the order's items, in order) that has one."""
    if not external_ids:
        return None
    rows = {
        r.external_id: r
        for r in conn.execute(
            sa.select(
                mappings,
                products.c.slug.label("product"),
                products.c.name.label("product_name"),
                policies.c.name.label("policy_name"),
            )
            .join(products, products.c.id == mappings.c.product_id)
            .outerjoin(policies, policies.c.id == mappings.c.policy_id)
            .where(mappings.c.provider == provider, mappings.c.external_id.in_(external_ids))
        ).all()
    }
    return next((rows[e] for e in external_ids if e in rows), None)


def set_email_settings(
    conn: sa.Connection,
    *,
    product: str,
    reply_to: str | None,
    trial_reminder_days: int | None,
    actor: str,
    now: dt.datetime,
) -> None:
    """The reply-to of the product's customer emails, and days before a trial ends to remind (None: off)."""
    from licentia.server.notify.messages import plausible_email

    prod = get_product(conn, product)
    if reply_to and plausible_email(reply_to) is None:
        raise ApiError(ErrorCode.INVALID_EMAIL, f"{reply_to!r} is not an email address")
    if trial_reminder_days is not None and not 1 <= trial_reminder_days <= 60:
        raise ApiError(ErrorCode.INVALID_NUMBER, "trial reminder days must be between 1 and 60")
    conn.execute(email_settings.delete().where(email_settings.c.product_id == prod.id))
    conn.execute(
        email_settings.insert().values(
            product_id=prod.id, reply_to=reply_to or None, trial_reminder_days=trial_reminder_days
        )
    )
    record(
        conn,
        actor=actor,
        action=AuditAction.PAYMENTS_EMAIL_SETTINGS,
        target_id=prod.id,
        now=now,
        reply_to=reply_to,
        trial_reminder_days=trial_reminder_days,
    )
