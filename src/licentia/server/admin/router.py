"""The admin web UI at ``/admin``: one router made of the pages (each thin; logic lives in services)."""

from __future__ import annotations

from fastapi import APIRouter

from licentia.server.admin.pages import catalog, customers, devices, home, licenses, lists, signin, tokens

router = APIRouter(prefix="/admin", include_in_schema=False)
for page in (signin, home, lists, devices, licenses, customers, catalog, tokens):
    router.include_router(page.router)
# "/admin" itself (no trailing slash), next to "/admin/".
router.add_api_route("", home.home, methods=["GET"])
