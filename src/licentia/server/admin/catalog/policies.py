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
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncEngine

from licentia.server.admin.forms import refused_status
from licentia.server.admin.web import Admin, Flashes, Form, Posted, render
from licentia.server.errors import ApiError, ErrorCode
from licentia.server.fields import RowId
from licentia.server.policies.choices import COUNTING_DAYS, ExpiryMode, MeterPeriod
from licentia.server.policies.knobs import KNOBS, METER_PERIODS, invalid, validate_knobs
from licentia.server.policies.schemas import PolicySpec
from licentia.server.policies.service import change_policy, create_policy, license_counts
from licentia.server.state import ClockDep, EngineDep
from licentia.server.store import transactions
from licentia.server.store.tables import policies, products

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


def _parse_lines(text: str, what: str, form: str, entry_of: Callable[[str], Any]) -> dict[str, Any]:
    """``name = ...`` one per line (blank lines skipped) -> ``{name: entry_of(what follows "=")}``; a line
    without ``=``, or whose entry ``entry_of`` refuses (``None``), is refused with its number and the ``form``."""
    found: dict[str, Any] = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        name, sep, rest = line.partition("=")
        entry = entry_of(rest.strip()) if sep else None
        if entry is None:
            raise invalid(f"{what}, line {number}: write {form}")
        found[name.strip()] = entry
    return found


def parse_entitlement_lines(text: str) -> dict[str, Any]:
    return _parse_lines(text, "entitlements", "name = value (e.g. max_projects = 10)", _entitlement)


def _entitlement(rest: str) -> dict[str, Any]:
    raw, _, until = rest.partition(" until ")
    raw = raw.strip()
    value: Any = raw
    if raw.lower() in ("true", "false"):
        value = raw.lower() == "true"
    elif raw.lstrip("-").isdigit():
        value = int(raw)
    return {"value": value, "expires_at": until.strip() or None}


def parse_meter_lines(text: str) -> dict[str, Any]:
    return _parse_lines(text, "meters", "name = limit per period (e.g. renders = 1000 per month)", _meter)


def _meter(rest: str) -> dict[str, Any] | None:
    limit, _, period = rest.partition(" per ")
    if not limit.strip().isdigit():
        return None
    return {"limit": int(limit), "period": period.strip() or MeterPeriod.MONTH.value}


# One plain sentence per knob, under its label: what it does for the customer and the vendor.
EXPLAIN = {
    "kind": "Node-locked: each machine that activates takes a seat. Floating: a seat is leased while the app runs.",
    "max_devices": "How many different machines may activate one license at the same time (how many named users, "
    "when a seat is a user).",
    "seat_unit": "Machine: each machine activated with the license key takes a seat. User: each named person who "
    "signs in from the application (the device sign-in, confirmed in the portal) takes a seat, whatever machine.",
    "machines_per_user": "When a seat is a user: on how many machines one person may use their seat.",
    "seat_release_days": "A machine not seen for this long gives its seat back, so a customer who changed computers "
    "is not stuck. 0 keeps seats forever.",
    "floating_lease_seconds": "Floating seats only: how long a running app holds a seat between two heartbeats.",
    "borrow_days": "Floating seats only: how long a user may take a seat offline (travel). 0 forbids it.",
    "expiry_mode": "When a license of this type stops working: never, on a date, or some days after it is sold "
    "or first activated.",
    "expiry_date": "The last day a license works, when it expires on a fixed date.",
    "expiry_days": "How many days a license works, counted from the sale or the first activation.",
    "maintenance_days": "Releases published within this many days of the sale are included. Empty: every release.",
    "lease_days": "How long the app keeps working without reaching the server (offline use).",
    "grace_days": "Extra days after that before it stops, with a warning, so a short outage locks nobody out.",
    "usage_report_days": "How often the app reports that it is still in use. Empty: one day more than the trial.",
    "on_clone": "What happens when a copied installation is caught: flag it for you, or block the copy.",
    "allow_virtual_machines": "Off: the app refuses to start in a virtual machine (an easy way to clone a computer).",
    "transfer_limit": "How many times a license may move to another machine (a seat given back by the application, "
    "the portal or an air-gapped proof, then taken on another computer). Empty: no limit.",
    "transfer_period_days": "The rolling window in which those transfers are counted.",
    "trial_days": "How long a new machine may use the app before it needs a license.",
    "fingerprint_min_match": "How many of the machine's hardware components must match for it to count as the same "
    "machine (a new disk alone keeps it).",
}


def form_values(form: dict[str, str], *, default_policy: bool) -> tuple[dict[str, Any], dict[str, str]]:
    """The knobs of a submitted policy form, and a plain error per field that is wrong.

    Empty optional fields mean "none". Each knob is checked on its own, so every
    wrong field gets its message beside it at once.
    """
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for knob in KNOBS:
        if knob.product_wide and not default_policy:
            continue
        raw = form.get(knob.name, "").strip()
        try:
            if knob.kind == "bool":
                value: Any = form.get(knob.name) == "on"
            elif knob.kind == "entitlements":
                value = parse_entitlement_lines(form.get(knob.name, ""))
            elif knob.kind == "meters":
                value = parse_meter_lines(form.get(knob.name, ""))
            elif knob.kind in ("choice", "date") and raw:
                value = raw
            elif not raw:
                if not knob.nullable:
                    raise invalid("Give a value.")
                value = None
            else:
                try:
                    value = int(raw)
                except ValueError as exc:
                    raise invalid(f"A whole number of {knob.unit or 'units'}.") from exc
                if not knob.low <= value <= knob.high:
                    raise invalid(f"Between {knob.low} and {knob.high} {knob.unit}.".replace(" .", "."))
            values.update(validate_knobs({knob.name: value}))
        except ApiError as exc:
            errors[knob.name] = exc.message
    mode = values.get("expiry_mode")
    if mode == ExpiryMode.FIXED_DATE and values.get("expiry_date") is None and "expiry_date" not in errors:
        errors["expiry_date"] = "Give the day licenses of this type stop working."
    if mode in COUNTING_DAYS and not values.get("expiry_days") and "expiry_days" not in errors:
        errors["expiry_days"] = "Give how many days licenses of this type work."
    return values, errors


def _policy_of(conn: sa.Connection, product_id: int, policy_id: int) -> tuple[Any, Any, int]:
    product = conn.execute(sa.select(products).where(products.c.id == product_id)).first()
    row = conn.execute(
        sa.select(policies).where(policies.c.id == policy_id, policies.c.product_id == product_id)
    ).first()
    if product is None or row is None:
        raise HTTPException(404, f"no policy {policy_id} of product {product_id}")
    return product, row, license_counts(conn, product_id).get(policy_id, 0)


async def _policy_page(
    request: Request,
    engine: AsyncEngine,
    product_id: int,
    policy_id: int,
    *,
    http_status: int = 200,
    errors: dict[str, str] | None = None,
    sent: dict[str, str] | None = None,
) -> Response:
    product, row, used = await transactions.read_only(engine, _policy_of, product_id=product_id, policy_id=policy_id)
    shown = dict(row._mapping)
    if isinstance(shown.get("expiry_date"), dt.datetime):
        shown["expiry_date"] = shown["expiry_date"].date().isoformat()
    entitlements, meters = entitlement_lines(row.entitlements), meter_lines(row.meters)
    if sent is not None:
        # What was typed comes back as typed, beside its error.
        for knob in KNOBS:
            if knob.kind == "bool":
                shown[knob.name] = sent.get(knob.name) == "on"
            elif knob.name in sent and knob.kind not in LINE_KNOBS:
                shown[knob.name] = sent[knob.name]
        shown["name"] = sent.get("name", shown["name"])
        entitlements, meters = sent.get("entitlements", entitlements), sent.get("meters", meters)
    return render(
        request,
        "policy.html",
        refused_status(request, http_status),
        product=product,
        policy=shown,
        licenses=used,
        knobs=[k for k in KNOBS if row.is_default or not k.product_wide],
        explain=EXPLAIN,
        errors=errors or {},
        entitlements=entitlements,
        meters=meters,
        periods=METER_PERIODS,
    )


@router.get("/products/{product_id}/policies/{policy_id}")
async def policy_page(
    request: Request, engine: EngineDep, admin: Admin, product_id: RowId, policy_id: RowId
) -> Response:
    return await _policy_page(request, engine, product_id, policy_id)


@router.post("/products/{product_id}/policies")
async def new_policy(form: Form, product_id: RowId, posted: Posted) -> Response:
    def make(conn: sa.Connection, *, now: dt.datetime, actor: str) -> int:
        slug = conn.execute(sa.select(products.c.slug).where(products.c.id == product_id)).scalar_one_or_none()
        if slug is None:
            raise ApiError(ErrorCode.UNKNOWN_PRODUCT, f"no product {product_id}")
        spec = PolicySpec(name=form.get("name", ""), copy_of=form.get("copy_of") or None)
        made = create_policy(conn, spec, product=slug, actor=actor, now=now)
        return int(made.id)

    def to_it(policy_id: int) -> Response:
        return posted.back(
            f"/admin/products/{product_id}/policies/{policy_id}", done="License type created; set its knobs."
        )

    return await posted.run(make, success=to_it, back_to=f"/admin/products/{product_id}")


@router.post("/products/{product_id}/policies/{policy_id}")
async def save_policy(
    request: Request, engine: EngineDep, clock: ClockDep, admin: Admin, form: Form, flash: Flashes, product_id: RowId,
    policy_id: RowId,
) -> Response:  # fmt: skip
    back_to = f"/admin/products/{product_id}/policies/{policy_id}"

    def save(conn: sa.Connection, *, now: dt.datetime) -> dict[str, str]:
        product, row, _used = _policy_of(conn, product_id, policy_id)
        values, errors = form_values(form, default_policy=bool(row.is_default))
        if errors:
            return errors
        spec = PolicySpec(knobs=values, name=form.get("name") or None)
        change_policy(conn, spec, product=product.slug, name=row.name, actor=admin.label, now=now)
        return {}

    try:
        errors = await transactions.in_transaction(engine, save, now=clock.now())
    except ApiError as exc:
        # What is left once every knob passed on its own: the name (taken, too long) or a combination.
        field = "name" if exc.code in (ErrorCode.POLICY_EXISTS, ErrorCode.INVALID_POLICY) else "form"
        errors = {field: exc.message}
    if errors:
        return await _policy_page(request, engine, product_id, policy_id, http_status=422, errors=errors, sent=form)
    return flash.back(back_to, done="License type saved; every license of it follows at its next check.")


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
