"""The portal's certificate download (``/portal/licenses/{id}/certificate``): only the customer's own licenses."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter
from fastapi.responses import Response

from licentia.server.customers.service import owned_license
from licentia.server.licenses.certificate import Certificate, sign_certificate
from licentia.server.licenses.certificate_download import as_download
from licentia.server.portal.router import LicenseId
from licentia.server.portal.web import SignedIn
from licentia.server.state import EngineDep, StateDep
from licentia.server.store import transactions

router = APIRouter()


def sign_owned_certificate(
    conn: sa.Connection, *, email: str, license_id: int, now: dt.datetime, fernet: Any
) -> Certificate:
    """The certificate of a license the customer ``email`` owns (another customer's license is "not found")."""
    owned_license(conn, email=email, license_id=license_id)
    return sign_certificate(conn, license_id=license_id, now=now, fernet=fernet)


@router.get("/licenses/{license_id}/certificate")
async def portal_certificate(engine: EngineDep, state: StateDep, customer: SignedIn, license_id: LicenseId) -> Response:
    # A refusal (another customer's license, none) is answered as a portal page by the portal's handler.
    certificate = await transactions.read_only(
        engine,
        sign_owned_certificate,
        email=customer.email,
        license_id=license_id,
        now=state.clock.now(),
        fernet=state.fernet,
    )
    return as_download(certificate)
