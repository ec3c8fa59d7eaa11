"""Developer API: a license's purchase certificate (``GET /v1/admin/licenses/{id}/certificate``)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from licentia.server.adminapi.bearer import ReadActor
from licentia.server.fields import RowId
from licentia.server.licenses.certificate import sign_certificate
from licentia.server.licenses.certificate_download import RESPONSES, as_download
from licentia.server.state import EngineDep, StateDep
from licentia.server.store import transactions

router = APIRouter(prefix="/v1/admin", tags=["developer API"])


@router.get("/licenses/{license_id}/certificate", responses=RESPONSES)
async def certificate_of_license(engine: EngineDep, state: StateDep, license_id: RowId, actor: ReadActor) -> Response:
    """The license's purchase certificate, signed now with the product's key."""
    # Signing reads the product's key; nothing is written, so a snapshot serves.
    certificate = await transactions.read_only(
        engine, sign_certificate, license_id=license_id, now=state.clock.now(), fernet=state.fernet
    )
    return as_download(certificate)
