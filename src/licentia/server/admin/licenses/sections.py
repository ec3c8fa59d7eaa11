"""The sections of a license page that HTMX loads into it (leases, meters), each also a page of its own."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from licentia.server.admin.web import Admin, from_htmx, read_or_404, render
from licentia.server.fields import RowId
from licentia.server.state import ClockDep, EngineDep


def add_license_section(router: APIRouter, name: str, read: Callable[..., Any], *, fragment: str, page: str) -> None:
    """Serve the section ``/licenses/{license_id}/<name>``: ``read(conn, license_id=, now=)`` (an unknown license
    answers 404), shown as ``fragment`` when HTMX loads it into the license page, or as ``page`` when opened
    directly (no JavaScript).

    The templates get ``found`` (what ``read`` returned), ``license_id``, and ``fragment``: whether HTMX asked.
    """

    async def section(
        request: Request, engine: EngineDep, clock: ClockDep, admin: Admin, license_id: RowId
    ) -> Response:
        found = await read_or_404(engine, read, license_id=license_id, now=clock.now())
        asked = from_htmx(request)
        return render(request, fragment if asked else page, license_id=license_id, found=found, fragment=asked)

    router.add_api_route(f"/licenses/{{license_id}}/{name}", section, methods=["GET"], name=f"{name}_section")
