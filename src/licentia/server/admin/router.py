"""The admin web UI at ``/admin``: one router made of the pages (each thin; logic lives in services)."""

from __future__ import annotations

from fastapi import APIRouter

from licentia.server.admin.pages import (
    account,
    admins,
    catalog,
    customers,
    devices,
    emails,
    home,
    licenses,
    lists,
    signin,
    tokens,
    webhooks,
)
from licentia.server.offline import admin as offline

router = APIRouter(prefix="/admin", include_in_schema=False)
pages = (signin, home, lists, devices, licenses, customers, catalog, tokens, webhooks, admins, account, emails, offline)
for page in pages:
    router.include_router(page.router)
# "/admin" itself (no trailing slash), next to "/admin/".
router.add_api_route("", home.home, methods=["GET"])
