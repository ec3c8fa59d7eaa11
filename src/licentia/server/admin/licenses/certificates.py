"""The admin license page's "Download certificate" (``/admin/licenses/{id}/certificate``)."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException
from fastapi.responses import Response

from licentia.server.admin.web import Admin
from licentia.server.errors import ApiError
from licentia.server.fields import RowId
from licentia.server.licenses.certificate import sign_certificate
from licentia.server.licenses.certificate_download import as_download
from licentia.server.state import EngineDep, StateDep
from licentia.server.store import transactions

router = APIRouter()


@router.get("/licenses/{license_id}/certificate")
async def admin_certificate(engine: EngineDep, state: StateDep, user: Admin, license_id: RowId) -> Response:
    try:
        certificate = await transactions.read_only(
            engine, sign_certificate, license_id=license_id, now=state.clock.now(), fernet=state.fernet
        )
    except ApiError as exc:
        raise HTTPException(404, exc.message) from exc
    return as_download(certificate)
