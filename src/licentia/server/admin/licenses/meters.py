"""The admin license page's meters section (``/admin/licenses/{id}/meters``), loaded into the page by HTMX."""

from __future__ import annotations

from fastapi import APIRouter

from licentia.server.admin.licenses.sections import add_license_section
from licentia.server.meters.service import usage_of_license

router = APIRouter()
# One template for both: it stands alone as a page unless ``fragment``.
add_license_section(
    router, "meters", usage_of_license, fragment="license_meters_section.html", page="license_meters_section.html"
)
