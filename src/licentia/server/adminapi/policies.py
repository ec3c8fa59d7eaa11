"""Developer API for license types: ``/v1/admin/products/{slug}/policies`` and a license's terms.

A policy body is flat: ``{"name": "Pro yearly", "max_devices": 3, "expiry_mode":
"from_issue", "expiry_days": 365, "entitlements": {"max_projects": 10}}``;
every knob is listed in docs/licensing-models.md. Bad knobs answer 422
``invalid_policy`` naming the knob. Every change is audited with the token's name.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Body, Path

from licentia.server.adminapi.bearer import ReadActor, WriteActor
from licentia.server.fields import RowId
from licentia.server.licenses.changes import change_terms
from licentia.server.licenses.schemas import TermsChange
from licentia.server.licenses.views import license_view
from licentia.server.policies.schemas import PolicySpec
from licentia.server.policies.service import (
    change_policy,
    create_policy,
    get_policy,
    license_counts,
    list_policies,
    policy_view,
)
from licentia.server.state import ClockDep, EngineDep
from licentia.server.store import transactions

router = APIRouter(prefix="/v1/admin", tags=["developer API", "developer API: license types"])
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "`missing_token` or `invalid_token`"},
    403: {"description": "`insufficient_scope`: this call needs a `write` token"},
    404: {"description": "`unknown_product`, `unknown_policy` or `unknown_license`"},
    409: {"description": "`policy_exists`, `license_revoked`"},
    422: {"description": "`invalid_policy`: a knob's name or value (the message names it)"},
}
Slug = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")]
PolicyName = Annotated[str, Path(min_length=1, max_length=64)]
_EXAMPLE = {
    "name": "Pro yearly",
    "max_devices": 3,
    "expiry_mode": "from_issue",
    "expiry_days": 365,
    "maintenance_days": 365,
    "entitlements": {"export_pdf": True, "max_projects": 10, "edition": "pro"},
    "meters": {"renders": {"limit": 1000, "period": "month"}},
}


@router.get("/products/{slug}/policies", responses=ERRORS)
async def policies_of_product(engine: EngineDep, slug: Slug, actor: ReadActor) -> list[dict[str, Any]]:
    """Every license type of the product, the default first, with how many licenses use each."""

    def job(conn: Any) -> list[dict[str, Any]]:
        rows = list_policies(conn, product=slug)
        counts = license_counts(conn, rows[0].product_id) if rows else {}
        return [policy_view(row, licenses_count=counts.get(row.id, 0)) for row in rows]

    return await transactions.read_only(engine, job)


@router.get("/products/{slug}/policies/{name}", responses=ERRORS)
async def one_policy(engine: EngineDep, slug: Slug, name: PolicyName, actor: ReadActor) -> dict[str, Any]:
    return policy_view(await transactions.read_only(engine, get_policy, product=slug, name=name))


@router.post("/products/{slug}/policies", status_code=201, responses=ERRORS)
async def new_policy(
    engine: EngineDep,
    clock: ClockDep,
    slug: Slug,
    actor: WriteActor,
    body: Annotated[dict[str, Any], Body(openapi_examples={"pro": {"value": {**_EXAMPLE, "copy_of": "Default"}}})],
) -> dict[str, Any]:
    """Create a license type: ``name``, optionally ``copy_of`` (another policy's name), and any knobs."""
    row = await transactions.in_transaction(
        engine,
        create_policy,
        spec=PolicySpec.of_body(body, creating=True),
        product=slug,
        actor=actor.label,
        now=clock.now(),
    )
    return policy_view(row)


@router.patch("/products/{slug}/policies/{name}", responses=ERRORS)
async def patch_policy(
    engine: EngineDep,
    clock: ClockDep,
    slug: Slug,
    name: PolicyName,
    actor: WriteActor,
    body: Annotated[dict[str, Any], Body(openapi_examples={"limit": {"value": {"max_devices": 5}}})],
) -> dict[str, Any]:
    """Change knobs (and ``name`` to rename); every license of the policy follows at its next check.

    The sale's terms already on a license (expiry, maintenance end) do not
    move: change them per license (renew, ``PATCH /licenses/{id}/terms``).
    """
    row = await transactions.in_transaction(
        engine,
        change_policy,
        spec=PolicySpec.of_body(body, creating=False),
        product=slug,
        name=name,
        actor=actor.label,
        now=clock.now(),
    )
    return policy_view(row)


@router.patch("/licenses/{license_id}/terms", responses=ERRORS)
async def patch_terms(
    engine: EngineDep, clock: ClockDep, license_id: RowId, body: TermsChange, actor: WriteActor
) -> dict[str, Any]:
    """Move a license to another license type, override single knobs, or change its maintenance end."""

    def change(conn: Any, *, now: dt.datetime) -> dict[str, Any]:
        change_terms(conn, body, license_id=license_id, actor=actor.label, now=now)
        return _jsonable(license_view(conn, license_id, now))

    return await transactions.in_transaction(engine, change, now=clock.now())


def _jsonable(view: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.isoformat() if isinstance(v, dt.datetime) else v) for k, v in view.items()}
