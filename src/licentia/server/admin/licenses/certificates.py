"""The admin license page's "Download certificate" (``/admin/licenses/{id}/certificate``)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from licentia.server.admin.web import Admin, read_or_404
from licentia.server.fields import RowId
from licentia.server.licenses.certificate import sign_certificate
from licentia.server.licenses.certificate_download import as_download
from licentia.server.state import EngineDep, StateDep

router = APIRouter()


@router.get("/licenses/{license_id}/certificate")
async def admin_certificate(engine: EngineDep, state: StateDep, user: Admin, license_id: RowId) -> Response:
    certificate = await read_or_404(
        engine, sign_certificate, license_id=license_id, now=state.clock.now(), fernet=state.fernet
    )
    return as_download(certificate)
