"""Which Licentia product and license type a provider's product or price id sells.

One service shared by the CLI (``licentia payments map``), the developer API
(``/v1/admin/payments/mappings``) and the admin page (``/admin/payments``),
and one definition of what each asks for (``MappingSpec``, ``EmailSettingsSpec``)
with its rules. Every change is audited.
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Annotated, Any, Literal, Self

import sqlalchemy as sa
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, ValidationError
from pydantic_core import ErrorDetails

from licentia.server.audit import AuditAction, record
from licentia.server.errors import ApiError, ErrorCode
from licentia.server.fields import Feature, Slug
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


def _distinct(features: list[str]) -> list[str]:
    return sorted(set(features))


class MappingSpec(BaseModel):
    """A provider's product or price id, and the product and license type its paid orders issue.

    The developer API takes it as its body (a value out of shape: 422); the CLI
    and the admin page build it with ``of()`` (the same value: its field's code).
    """

    model_config = ConfigDict(extra="forbid")

    # The values of Provider and OnRefund, as plain strings: the API's 422 names them so.
    provider: Literal["stripe", "paddle", "fastspring"]
    external_id: Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=r"^\S+$")] = Field(
        description="The provider's price or product id (Stripe price_/prod_/plink_, Paddle pri_/pro_, FastSpring path)"
    )
    product: Slug
    policy_id: int | None = Field(
        default=None, ge=1, le=2**62, description="The license type; none: the product's default"
    )
    max_devices: int | None = Field(default=None, ge=1, le=36500)
    duration_days: int | None = Field(default=None, ge=1, le=36500, description="One-time purchases: days valid")
    features: Annotated[list[Feature], AfterValidator(_distinct)] = Field(default_factory=list, max_length=50)
    on_refund: Literal["suspend", "revoke"] = "revoke"
    organisation: bool = Field(
        default=False, description="Sell seats to organisations: the quantity bought is the license's seats"
    )

    @classmethod
    def of(cls, **values: Any) -> Self:
        """From the CLI's arguments or the form's fields: the spec, or the ``ApiError`` refusing the first bad value."""
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            raise _refusal(exc.errors()[0], values) from exc


def _refusal(error: ErrorDetails, values: dict[str, Any]) -> ApiError:
    """The refusal the CLI and the admin page give for a value out of shape (the API answers it 422)."""
    field = ".".join(str(part) for part in error["loc"])
    if field == "provider":
        return ApiError(ErrorCode.INVALID_PROVIDER, f"provider is one of {', '.join(PROVIDERS)}")
    if field == "external_id":
        return ApiError(
            ErrorCode.INVALID_EXTERNAL_ID, "the provider's product or price id is 1-200 characters, no spaces"
        )
    if field == "product":
        return ApiError(ErrorCode.UNKNOWN_PRODUCT, f"no product named {error['input']!r}")
    if field == "policy_id":
        return ApiError(
            ErrorCode.UNKNOWN_POLICY, f"product {values.get('product')} has no license type {error['input']}"
        )
    if field in ("max_devices", "duration_days"):
        return ApiError(ErrorCode.INVALID_NUMBER, f"{field} must be between 1 and 36500", details={"field": field})
    if field == "on_refund":
        return ApiError(ErrorCode.INVALID_ON_REFUND, f"on_refund is one of {', '.join(REFUND_ACTIONS)}")
    return ApiError(ErrorCode.VALIDATION_ERROR, f"{field}: {error['msg']}")


def add_mapping(conn: sa.Connection, spec: MappingSpec, *, actor: str, now: dt.datetime) -> int:
    prod = get_product(conn, spec.product)
    if spec.policy_id is not None:
        # A license type of another product would sell the wrong rules.
        found = conn.execute(
            sa.select(policies.c.id).where(policies.c.id == spec.policy_id, policies.c.product_id == prod.id)
        ).first()
        if found is None:
            raise ApiError(ErrorCode.UNKNOWN_POLICY, f"product {spec.product} has no license type {spec.policy_id}")
    exists = conn.execute(
        sa.select(mappings.c.id).where(mappings.c.provider == spec.provider, mappings.c.external_id == spec.external_id)
    ).first()
    if exists:
        raise ApiError(
            ErrorCode.MAPPING_EXISTS, f"{spec.provider} {spec.external_id} is already mapped; remove it first"
        )
    mapping_id = conn.execute(
        mappings.insert()
        .values(product_id=prod.id, created_at=now, **spec.model_dump(mode="json", exclude={"product"}))
        .returning(mappings.c.id)
    ).scalar_one()
    record(
        conn,
        AuditAction.PAYMENTS_MAP,
        mapping_id,
        actor=actor,
        now=now,
        provider=spec.provider,
        external_id=spec.external_id,
        product=spec.product,
        policy_id=spec.policy_id,
        on_refund=spec.on_refund,
        organisation=spec.organisation,
    )
    return int(mapping_id)


def remove_mapping(conn: sa.Connection, *, mapping_id: int, actor: str, now: dt.datetime) -> None:
    row = conn.execute(sa.select(mappings).where(mappings.c.id == mapping_id)).first()
    if row is None:
        raise ApiError(ErrorCode.UNKNOWN_MAPPING, f"no payment mapping {mapping_id}")
    conn.execute(mappings.delete().where(mappings.c.id == mapping_id))
    record(
        conn,
        AuditAction.PAYMENTS_UNMAP,
        mapping_id,
        actor=actor,
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
            "organisation": bool(r.organisation),
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


def _reply_to(text: str | None) -> str | None:
    from licentia.server.notify.messages import plausible_email

    if text and plausible_email(text) is None:
        raise ApiError(ErrorCode.INVALID_EMAIL, f"{text!r} is not an email address")
    return text or None


def _reminder_days(days: int | None) -> int | None:
    if days is not None and not 1 <= days <= 60:
        raise ApiError(ErrorCode.INVALID_NUMBER, "trial reminder days must be between 1 and 60")
    return days


class EmailSettingsSpec(BaseModel):
    """The reply-to of a product's customer emails, and days before a trial ends to remind (None: off).

    Only the admin page asks for it: every rule raises its own ``ApiError``.
    """

    model_config = ConfigDict(extra="forbid")

    product: str
    reply_to: Annotated[str | None, AfterValidator(_reply_to)] = None
    trial_reminder_days: Annotated[int | None, AfterValidator(_reminder_days)] = None


def set_email_settings(conn: sa.Connection, spec: EmailSettingsSpec, *, actor: str, now: dt.datetime) -> None:
    prod = get_product(conn, spec.product)
    conn.execute(email_settings.delete().where(email_settings.c.product_id == prod.id))
    settings = spec.model_dump(exclude={"product"})
    conn.execute(email_settings.insert().values(product_id=prod.id, **settings))
    record(conn, AuditAction.PAYMENTS_EMAIL_SETTINGS, prod.id, actor=actor, now=now, **settings)
