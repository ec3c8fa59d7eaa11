"""Downloading a purchase certificate: the admin UI, the developer API and the customer portal."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response

from licentia.server.admin.web import Admin
from licentia.server.adminapi.schemas import RowId
from licentia.server.auth.bearer import ReadActor
from licentia.server.certificates.document import MEDIA_TYPE, Certificate, sign_certificate
from licentia.server.errors import ApiError
from licentia.server.portal.router import LicenseId
from licentia.server.portal.service import owned_license
from licentia.server.portal.web import SignedIn
from licentia.server.state import read_only, state_of

developer = APIRouter(prefix="/v1/admin", tags=["developer API"])
admin = APIRouter(prefix="/admin", include_in_schema=False)
portal = APIRouter(prefix="/portal", include_in_schema=False)

_CERTIFICATE = {
    200: {"description": "The signed purchase certificate (docs/licensing-models.md)", "content": {MEDIA_TYPE: {}}},
    404: {"description": "`unknown_license`, or `no_purchase_certificate` (a license without a customer)"},
}


def _download(certificate: Certificate) -> Response:
    return Response(
        certificate.body,
        media_type=MEDIA_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{certificate.filename}"', "Cache-Control": "no-store"},
    )


async def _signed(request: Request, license_id: int) -> Certificate:
    # Signing reads the product's key; nothing is written, so a snapshot serves.
    state = state_of(request.app)
    return await read_only(request, sign_certificate, license_id=license_id, now=state.clock.now(), fernet=state.fernet)


@developer.get("/licenses/{license_id}/certificate", responses=_CERTIFICATE)  # type: ignore[arg-type]
async def certificate_of_license(request: Request, license_id: RowId, actor: ReadActor) -> Response:
    """The license's purchase certificate, signed now with the product's key."""
    return _download(await _signed(request, license_id))


@admin.get("/licenses/{license_id}/certificate")
async def admin_certificate(request: Request, user: Admin, license_id: RowId) -> Response:
    try:
        return _download(await _signed(request, license_id))
    except ApiError as exc:
        raise HTTPException(404, exc.message) from exc


def _owned_and_signed(conn: sa.Connection, *, email: str, license_id: int, now: dt.datetime, fernet: Any) -> Any:
    owned_license(conn, email=email, license_id=license_id)  # another customer's license is "not found"
    return sign_certificate(conn, license_id=license_id, now=now, fernet=fernet)


@portal.get("/licenses/{license_id}/certificate")
async def portal_certificate(request: Request, customer: SignedIn, license_id: LicenseId) -> Response:
    # A refusal (another customer's license, none) is answered as a portal page by the portal's handler.
    state = state_of(request.app)
    now, fernet = state.clock.now(), state.fernet
    certificate = await read_only(
        request, _owned_and_signed, email=customer.email, license_id=license_id, now=now, fernet=fernet
    )
    return _download(certificate)


ROUTERS = (developer, admin, portal)
