"""Products (policy, privacy, notifications, test mode) and releases."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response, StreamingResponse
from sqlalchemy.ext.asyncio import AsyncEngine

from licentia.core.vocabulary import Topic
from licentia.server.admin.catalog.policies import policies_of
from licentia.server.admin.forms import Refused, refused, render_form
from licentia.server.admin.lists.pages import page_of
from licentia.server.admin.lists.specs import release_spec
from licentia.server.admin.service import all_products, product_with_policy
from licentia.server.admin.web import Admin, Form, Posted, int_field, render
from licentia.server.audit import AuditAction, record
from licentia.server.bootstrap import snippets
from licentia.server.errors import ApiError, ErrorCode
from licentia.server.evidence import hitek
from licentia.server.fields import RowId
from licentia.server.licenses.schemas import validated
from licentia.server.policies.choices import OnClone
from licentia.server.policies.knobs import BY_NAME
from licentia.server.products.changes import (
    change_notifications,
    change_policy,
    change_privacy,
    change_proxy_trail,
    notify_settings,
)
from licentia.server.products.service import POLICY_FIELDS, CreatedProduct, create_product, public_keys
from licentia.server.products.test_mode import posts_in_test_mode, set_test_mode
from licentia.server.releases.changes import publish_release
from licentia.server.releases.schemas import ReleaseCreate
from licentia.server.state import EngineDep, FernetDep
from licentia.server.store import transactions

router = APIRouter()
# Which field of the publish form an error of the service belongs beside.
RELEASE_FIELD_OF = {
    ErrorCode.UNKNOWN_PRODUCT: "product",
    ErrorCode.INVALID_VERSION: "version",
    ErrorCode.RELEASE_EXISTS: "version",
    ErrorCode.INVALID_CHANNEL: "channel",
    ErrorCode.INVALID_URL: "download_url",
}
BOOLEAN_KNOBS = {"allow_virtual_machines"}
CHOICE_KNOBS = {"on_clone": tuple(OnClone)}


@router.get("/products")
async def products_page(request: Request, engine: EngineDep, admin: Admin) -> Response:
    return render(request, "products.html", products=await transactions.read_only(engine, all_products))


@router.post("/products")
async def create(fernet: FernetDep, form: Form, posted: Posted) -> Response:
    slug = form.get("slug", "").strip()

    def make(conn: sa.Connection, *, now: dt.datetime, actor: str) -> CreatedProduct:
        made = create_product(conn, slug=slug, name=form.get("name") or slug, fernet=fernet, now=now)
        record(conn, AuditAction.PRODUCT_CREATE, made.id, actor=actor, now=now)
        return made

    return await posted.run(
        make,
        success=lambda made: posted.back(f"/admin/products/{made.id}", done=f"Product {made.slug} created."),
        back_to="/admin/products",
    )


@router.get("/products/{product_id}")
async def product_page(request: Request, engine: EngineDep, admin: Admin, product_id: RowId) -> Response:
    found = await transactions.read_only(engine, product_with_policy, product_id=product_id)
    if found is None:
        raise HTTPException(404, f"no product {product_id}")
    product, policy = found
    keys = await transactions.read_only(engine, public_keys, product_id=product_id)
    license_types = await transactions.read_only(engine, policies_of, product_id=product_id)
    test_posts = await transactions.read_only(engine, posts_in_test_mode, product_id=product_id)
    return render(
        request,
        "product.html",
        product=product,
        policy=dict(policy._mapping),
        fields=POLICY_FIELDS,
        booleans=BOOLEAN_KNOBS,
        choices=CHOICE_KNOBS,
        topics=[topic.value for topic in Topic],
        notify=product.notify or {},
        public_key=keys[-1] if keys else "",
        snippets=snippets(str(request.base_url).rstrip("/"), product.slug, keys[-1] if keys else ""),
        license_types=license_types,
        knobs=BY_NAME,
        test_posts=test_posts,
    )


@router.get("/products/{product_id}/export.hitek")
async def hitek_export(engine: EngineDep, admin: Admin, product_id: RowId) -> Response:
    """The product's install, register and usage posts as Hitek's 50 tab-delimited columns (evidence.hitek)."""
    found = await transactions.read_only(engine, product_with_policy, product_id=product_id)
    if found is None:
        raise HTTPException(404, f"no product {product_id}")
    slug = found[0].slug

    async def lines() -> AsyncIterator[str]:
        yield hitek.header() + "\n"
        after = 0
        while True:
            page, after = await transactions.read_only(engine, hitek.hitek_page, product=slug, after=after)
            yield "".join(line + "\n" for line in page)
            if len(page) < hitek.PAGE:
                return

    disposition = f'attachment; filename="{slug}-hitek.txt"'
    headers = {"Content-Disposition": disposition, "Cache-Control": "no-store"}
    return StreamingResponse(lines(), media_type="text/tab-separated-values; charset=utf-8", headers=headers)


def _policy_values(form: dict[str, str]) -> dict[str, object]:
    values: dict[str, object] = {}
    for name in POLICY_FIELDS:
        if name in BOOLEAN_KNOBS:
            values[name] = form.get(name) == "on"
        elif name in CHOICE_KNOBS:
            values[name] = form.get(name, "")
        elif name == "usage_report_days" and not form.get(name, "").strip():
            values[name] = None  # None means trial_days + 1
        else:
            values[name] = int_field(form, name)
    return values


def _setting(part: str, form: dict[str, str]) -> tuple[Any, str, dict[str, Any]]:
    """The service, success message and arguments of one settings form of the product page."""
    if part == "policy":
        return change_policy, "Policy saved.", {"values": _policy_values(form)}
    if part == "privacy":
        privacy = {
            "collect_facts": form.get("collect_facts") == "on",
            "retention_days": int_field(form, "facts_retention_days"),
        }
        return change_privacy, "Privacy settings saved.", privacy
    if part == "notify":
        notify = notify_settings(form.get("emails", ""), {t: form.get(f"on_{t}") == "on" for t in Topic})
        return change_notifications, "Notifications saved.", {"notify": notify}
    if part == "proxy-trail":
        trail = {
            "proxy_trail": form.get("proxy_trail") == "on",
            "usage_report_once": form.get("usage_report_once") == "on",
        }
        return change_proxy_trail, "Proxy-log trail saved.", trail
    if part == "test-mode":
        on = form.get("test_mode") == "on"
        done = "Test mode on: posts are kept apart and echoed." if on else "Test mode off: posts count again."
        return set_test_mode, done, {"on": on, "email": form.get("test_email", "")}
    raise HTTPException(404, f"unknown product setting {part!r}")


@router.post("/products/{product_id}/{part}")
async def product_change(form: Form, product_id: RowId, part: str, posted: Posted) -> Response:
    back_to = f"/admin/products/{product_id}"
    try:
        fn, success, kwargs = _setting(part, form)
    except ApiError as exc:
        return posted.back(back_to, error=exc.message)
    return await posted.run(fn, success=success, back_to=back_to, product_id=product_id, **kwargs)


@router.get("/releases")
async def releases_page(
    request: Request, engine: EngineDep, admin: Admin, product: RowId | None = None, channel: str = ""
) -> Response:
    return await _releases(request, engine, product=product, channel=channel)


async def _releases(
    request: Request,
    engine: AsyncEngine,
    *,
    product: int | None = None,
    channel: str = "",
    refusal: Refused | None = None,
) -> Response:
    params = {"product": str(product or ""), "channel": channel}
    page = await page_of(request, engine, release_spec(product, channel), path="/admin/releases", params=params)
    products = await transactions.read_only(engine, all_products)
    return render_form(
        request, "releases.html", refusal, listing=page, products=products, product=product, channel=channel
    )


@router.post("/releases")
async def publish(request: Request, form: Form, posted: Posted) -> Response:
    async def again(exc: ApiError) -> Response:  # the form as it was typed, the error beside its field
        return await _releases(request, posted.engine, refusal=refused(request, exc, form, RELEASE_FIELD_OF))

    try:
        # The developer API's body, so the form is held to its rules (a version over 64 characters, notes too long).
        release = validated(
            ReleaseCreate,
            {
                "product": form.get("product", ""),
                "version": form.get("version", "").strip(),
                "channel": form.get("channel", "").strip() or "stable",
                "download_url": form.get("download_url", "").strip() or None,
                "notes": form.get("notes", "").strip() or None,
            },
        )
    except ApiError as exc:
        return await again(exc)
    success = f"Version {release.version} published."
    return await posted.run(
        publish_release, success=success, back_to="/admin/releases", refused=again, **release.model_dump()
    )
