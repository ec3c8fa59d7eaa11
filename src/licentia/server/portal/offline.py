"""The portal's air-gapped activation (``/portal/offline``): upload a request, download the response.

The signed-in customer uploads the request file their offline computer wrote
and gets the activation response back as a download; or uploads a
deactivation proof to free that computer's seat. Only their own licenses
(``foreign_license`` otherwise), under the same seat rules as every other
activation, in the same writer as the developer API.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, Request
from fastapi.responses import Response

from licentia.server.errors import ApiError
from licentia.server.offline import service
from licentia.server.offline.service import RESPONSE_FILENAME
from licentia.server.offline.uploads import uploaded_text
from licentia.server.offline.writes import answer, free
from licentia.server.portal.web import SignedIn, checked_form, render
from licentia.server.state import StateDep
from licentia.server.web.frame import SECURITY_HEADERS

router = APIRouter(prefix="/offline")


def _page(request: Request, status: int = 200, **context: Any) -> Response:
    return render(request, "portal_offline.html", status, lease_days=service.DEFAULT_LEASE_DAYS, **context)


@router.get("")
async def offline_page(request: Request, customer: SignedIn) -> Response:
    return _page(request)


@router.post("/activate")
async def activate(request: Request, state: StateDep, customer: SignedIn) -> Response:
    text, _fields = await uploaded_text(request, "request", lambda: checked_form(request, customer))
    try:
        done = await answer(
            state,
            text,
            lease_days=service.DEFAULT_LEASE_DAYS,
            actor=f"customer:{customer.email}",
            customer_email=customer.email,
        )
    except ApiError as exc:
        return _page(request, exc.status, error=exc.message, code=exc.code)
    headers = {**SECURITY_HEADERS, "Content-Disposition": f'attachment; filename="{RESPONSE_FILENAME}"'}
    return Response(done.response, media_type="application/octet-stream", headers=headers)


@router.post("/deactivate")
async def deactivate(request: Request, state: StateDep, customer: SignedIn) -> Response:
    text, _fields = await uploaded_text(request, "proof", lambda: checked_form(request, customer))

    def owned(conn: sa.Connection, license_id: int) -> bool:
        return service.customer_owns(conn, license_id, customer.email)

    try:
        await free(state, text, actor=f"customer:{customer.email}", allowed=owned)
    except ApiError as exc:
        return _page(request, exc.status, error=exc.message, code=exc.code)
    return _page(request, message="The offline computer's seat is free again; you can activate another one.")
