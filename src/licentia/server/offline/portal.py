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
from starlette.datastructures import UploadFile

from licentia.core.airgap import MAX_FILE_CHARS
from licentia.server.admin.web import SECURITY_HEADERS
from licentia.server.errors import ApiError
from licentia.server.offline import service
from licentia.server.offline.router import answer, free
from licentia.server.offline.service import RESPONSE_FILENAME
from licentia.server.portal.accounts import SignedInCustomer
from licentia.server.portal.web import SignedIn, checked_form, render

router = APIRouter(prefix="/portal/offline", include_in_schema=False)


async def _uploaded(request: Request, customer: SignedInCustomer, field: str) -> str:
    """The uploaded file's text (or the pasted text), once the form's CSRF token matched (else 403).

    The form is closed here whatever happens: its spooled upload files must not
    wait for the garbage collector.
    """
    form = await request.form()
    try:
        await checked_form(request, customer)  # the same form (parsed once per request)
        value = form.get(field)
        if isinstance(value, UploadFile):
            raw = await value.read(MAX_FILE_CHARS + 1)
            text = raw.decode("ascii", "replace")
        else:
            text = value or ""
        pasted = form.get(f"{field}_text")
        if not text.strip() and isinstance(pasted, str):
            text = pasted
        return text
    finally:
        await form.close()


def _page(request: Request, status: int = 200, **context: Any) -> Response:
    return render(request, "portal_offline.html", status, lease_days=service.DEFAULT_LEASE_DAYS, **context)


@router.get("")
async def offline_page(request: Request, customer: SignedIn) -> Response:
    return _page(request)


@router.post("/activate")
async def activate(request: Request, customer: SignedIn) -> Response:
    text = await _uploaded(request, customer, "request")
    try:
        done = await answer(
            request,
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
async def deactivate(request: Request, customer: SignedIn) -> Response:
    text = await _uploaded(request, customer, "proof")

    def owned(conn: sa.Connection, license_id: int) -> bool:
        return service.customer_owns(conn, license_id, customer.email)

    try:
        await free(request, text, actor=f"customer:{customer.email}", allowed=owned)
    except ApiError as exc:
        return _page(request, exc.status, error=exc.message, code=exc.code)
    return _page(request, message="The offline computer's seat is free again; you can activate another one.")
