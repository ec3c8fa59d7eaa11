"""License types in the admin UI: one page per policy with plain labels and units.

Entitlements and meters are typed one per line, the way a person writes them:

    export_pdf = true
    max_projects = 10
    edition = pro
    beta_tools = true until 2027-01-31

    renders = 1000 per month
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response

from licentia.server.admin.web import Admin, Form, back, now, render
from licentia.server.adminapi.schemas import RowId
from licentia.server.errors import ApiError, ErrorCode
from licentia.server.policies.knobs import KNOBS, METER_PERIODS, invalid
from licentia.server.policies.service import (
    change_policy,
    create_policy,
    license_counts,
    policies,
    products,
)
from licentia.server.state import in_transaction, read_only

router = APIRouter()
# Knobs edited as lines of text, not single inputs.
LINE_KNOBS = {"entitlements", "meters"}


def entitlement_lines(entitlements: dict[str, Any]) -> str:
    lines = []
    for name, entry in sorted((entitlements or {}).items()):
        value = entry["value"]
        text = "true" if value is True else "false" if value is False else str(value)
        until = f" until {entry['expires_at'][:10]}" if entry.get("expires_at") else ""
        lines.append(f"{name} = {text}{until}")
    return "\n".join(lines)


def meter_lines(meters: dict[str, Any]) -> str:
    return "\n".join(f"{name} = {m['limit']} per {m['period']}" for name, m in sorted((meters or {}).items()))


def parse_entitlement_lines(text: str) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        name, sep, rest = line.partition("=")
        if not sep:
            raise invalid(f"entitlements, line {number}: write name = value (e.g. max_projects = 10)")
        raw, _, until = rest.strip().partition(" until ")
        raw = raw.strip()
        value: Any = raw
        if raw.lower() in ("true", "false"):
            value = raw.lower() == "true"
        elif raw.lstrip("-").isdigit():
            value = int(raw)
        found[name.strip()] = {"value": value, "expires_at": until.strip() or None}
    return found


def parse_meter_lines(text: str) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        name, sep, rest = line.partition("=")
        limit, _, period = rest.strip().partition(" per ")
        if not sep or not limit.strip().isdigit():
            raise invalid(f"meters, line {number}: write name = limit per period (e.g. renders = 1000 per month)")
        found[name.strip()] = {"limit": int(limit), "period": period.strip() or "month"}
    return found


def form_values(form: dict[str, str], *, default_policy: bool) -> dict[str, Any]:
    """The knobs of a submitted policy form; empty optional fields mean "none"."""
    values: dict[str, Any] = {}
    for knob in KNOBS:
        if knob.product_wide and not default_policy:
            continue
        raw = form.get(knob.name, "").strip()
        if knob.kind == "bool":
            values[knob.name] = form.get(knob.name) == "on"
        elif knob.kind == "entitlements":
            values[knob.name] = parse_entitlement_lines(form.get(knob.name, ""))
        elif knob.kind == "meters":
            values[knob.name] = parse_meter_lines(form.get(knob.name, ""))
        elif knob.kind == "choice":
            values[knob.name] = raw
        elif not raw:
            if not knob.nullable:
                raise invalid(f"{knob.label}: give a value")
            values[knob.name] = None
        elif knob.kind == "date":
            values[knob.name] = raw
        else:
            try:
                values[knob.name] = int(raw)
            except ValueError as exc:
                raise invalid(f"{knob.label}: a whole number") from exc
    return values


def _policy_of(conn: sa.Connection, product_id: int, policy_id: int) -> tuple[Any, Any, int]:
    product = conn.execute(sa.select(products).where(products.c.id == product_id)).first()
    row = conn.execute(
        sa.select(policies).where(policies.c.id == policy_id, policies.c.product_id == product_id)
    ).first()
    if product is None or row is None:
        raise HTTPException(404, f"no policy {policy_id} of product {product_id}")
    return product, row, license_counts(conn, product_id).get(policy_id, 0)


@router.get("/products/{product_id}/policies/{policy_id}")
async def policy_page(request: Request, admin: Admin, product_id: RowId, policy_id: RowId) -> Response:
    product, row, used = await read_only(request, _policy_of, product_id=product_id, policy_id=policy_id)
    shown = dict(row._mapping)
    if isinstance(shown.get("expiry_date"), dt.datetime):
        shown["expiry_date"] = shown["expiry_date"].date().isoformat()
    return render(
        request,
        "policy.html",
        product=product,
        policy=shown,
        licenses=used,
        knobs=[k for k in KNOBS if row.is_default or not k.product_wide],
        entitlements=entitlement_lines(row.entitlements),
        meters=meter_lines(row.meters),
        periods=METER_PERIODS,
    )


@router.post("/products/{product_id}/policies")
async def new_policy(request: Request, admin: Admin, form: Form, product_id: RowId) -> Response:
    back_to = f"/admin/products/{product_id}"

    def make(conn: sa.Connection, *, now: dt.datetime) -> int:
        slug = conn.execute(sa.select(products.c.slug).where(products.c.id == product_id)).scalar_one_or_none()
        if slug is None:
            raise ApiError(ErrorCode.UNKNOWN_PRODUCT, f"no product {product_id}")
        made = create_policy(
            conn,
            product=slug,
            name=form.get("name", ""),
            copy_of=form.get("copy_of") or None,
            values={},
            actor=admin.label,
            now=now,
        )
        return int(made.id)

    try:
        policy_id = await in_transaction(request, make, now=now(request))
    except ApiError as exc:
        return back(back_to, error=exc.message)
    return back(f"/admin/products/{product_id}/policies/{policy_id}", done="License type created; set its knobs.")


@router.post("/products/{product_id}/policies/{policy_id}")
async def save_policy(request: Request, admin: Admin, form: Form, product_id: RowId, policy_id: RowId) -> Response:
    back_to = f"/admin/products/{product_id}/policies/{policy_id}"

    def save(conn: sa.Connection, *, now: dt.datetime) -> None:
        product, row, _used = _policy_of(conn, product_id, policy_id)
        change_policy(
            conn,
            product=product.slug,
            name=row.name,
            values=form_values(form, default_policy=bool(row.is_default)),
            rename=form.get("name") or None,
            actor=admin.label,
            now=now,
        )

    try:
        await in_transaction(request, save, now=now(request))
    except ApiError as exc:
        return back(back_to, error=exc.message)
    return back(back_to, done="License type saved; every license of it follows at its next check.")


def policies_of(conn: sa.Connection, product_id: int) -> list[Any]:
    """The product's license types with their license counts, for the product page."""
    counts = license_counts(conn, product_id)
    rows = conn.execute(
        sa.select(policies)
        .where(policies.c.product_id == product_id)
        .order_by(policies.c.is_default.desc(), policies.c.name)
    ).all()
    return [{**row._mapping, "licenses": counts.get(row.id, 0)} for row in rows]


__all__ = ["policies_of", "router"]
