"""The admin page ``/admin/payments``: mappings, customer email settings, and the provider events seen.

Signed in and CSRF-checked exactly as every admin page (``admin.web``).
"""

from __future__ import annotations

from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Request
from fastapi import Path as FastApiPath
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.ext.asyncio import AsyncEngine

from licentia.server.admin.forms import Refused, refused, render_form
from licentia.server.admin.web import Admin, Form, Posted, int_field
from licentia.server.errors import ApiError, ErrorCode
from licentia.server.payments.mapping import (
    PROVIDERS,
    EmailSettingsSpec,
    MappingSpec,
    add_mapping,
    list_mappings,
    remove_mapping,
    set_email_settings,
)
from licentia.server.state import EngineDep
from licentia.server.store import transactions
from licentia.server.store.tables import email_settings, payment_events, policies, products

router = APIRouter(prefix="/payments")
PAGE = "/admin/payments"
# Which field of the mapping form an error of the service belongs beside.
FIELD_OF = {
    ErrorCode.INVALID_PROVIDER: "provider",
    ErrorCode.INVALID_EXTERNAL_ID: "external_id",
    ErrorCode.MAPPING_EXISTS: "external_id",
    ErrorCode.UNKNOWN_PRODUCT: "product",
    ErrorCode.UNKNOWN_POLICY: "policy_id",
    ErrorCode.INVALID_ON_REFUND: "on_refund",
    ErrorCode.VALIDATION_ERROR: "features",
}


def _page_data(conn: sa.Connection) -> dict[str, Any]:
    return {
        "mappings": list_mappings(conn),
        "products": conn.execute(
            sa.select(
                products.c.id,
                products.c.slug,
                products.c.name,
                email_settings.c.reply_to,
                email_settings.c.trial_reminder_days,
            )
            .outerjoin(email_settings, email_settings.c.product_id == products.c.id)
            .order_by(products.c.slug)
        ).all(),
        "events": conn.execute(sa.select(payment_events).order_by(payment_events.c.id.desc()).limit(50)).all(),
        # Picked by name in the form, grouped by product; the ids stay the form's values.
        "license_types": conn.execute(
            sa.select(policies.c.id, policies.c.name, products.c.slug.label("product"))
            .join(products, products.c.id == policies.c.product_id)
            .order_by(products.c.slug, policies.c.name)
        ).all(),
    }


async def _page(request: Request, engine: AsyncEngine, refusal: Refused | None = None) -> HTMLResponse:
    data = await transactions.read_only(engine, _page_data)
    return render_form(request, "payments.html", refusal, section="payments", providers=PROVIDERS, **data)


@router.get("")
async def payments_page(request: Request, engine: EngineDep, admin: Admin) -> HTMLResponse:
    return await _page(request, engine)


def _optional_int(form: dict[str, str], name: str) -> int | None:
    return int_field(form, name) if form.get(name, "").strip() else None


@router.post("/mappings")
async def create(request: Request, form: Form, posted: Posted) -> Response:
    async def again(exc: ApiError) -> Response:  # the form as it was typed, the error beside its field
        return await _page(request, posted.engine, refused(request, exc, form, FIELD_OF))

    try:
        spec = MappingSpec.of(
            provider=form.get("provider", ""),
            external_id=form.get("external_id", "").strip(),
            product=form.get("product", ""),
            policy_id=_optional_int(form, "policy_id"),
            max_devices=_optional_int(form, "max_devices"),
            duration_days=_optional_int(form, "duration_days"),
            features=[f.strip() for f in form.get("features", "").split(",") if f.strip()],
            on_refund=form.get("on_refund", "revoke"),
            organisation=form.get("organisation") == "yes",
        )
    except ApiError as exc:
        return await again(exc)
    return await posted.run(add_mapping, success="Mapping added.", back_to=PAGE, refused=again, spec=spec)


@router.post("/mappings/{mapping_id}/delete")
async def delete(
    form: Form,
    mapping_id: Annotated[int, FastApiPath(ge=1, le=2**62)],
    posted: Posted,
) -> Response:
    return await posted.run(remove_mapping, success="Mapping removed.", back_to=PAGE, mapping_id=mapping_id)


@router.post("/emails")
async def emails(form: Form, posted: Posted) -> Response:
    try:
        spec = EmailSettingsSpec(
            product=form.get("product", ""),
            reply_to=form.get("reply_to", "").strip() or None,
            trial_reminder_days=_optional_int(form, "trial_reminder_days"),
        )
    except ApiError as exc:
        return posted.back(PAGE, error=exc.message)
    return await posted.run(set_email_settings, success="Customer email settings saved.", back_to=PAGE, spec=spec)
