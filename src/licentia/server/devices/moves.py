"""POST /v1/move: the installation's data folder moved on its machine; answers a signed status document.

An ordinary route (not the status lane's): a move is rare. The rules are the
check's (``identify._moves``): the credential, the current token, the machine's
hardware and the new data path; the old folder's state then stops working.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from licentia.server.credentials import parse_device_credential
from licentia.server.devices.router import answer
from licentia.server.devices.schemas import CheckRequest

router = APIRouter(prefix="/v1", tags=["devices"])

_MOVED = {
    "description": "The signed status document, as a check answers it, naming the new data path.",
    "content": {"application/json": {"example": {"credential": None, "signed": {"document": {"...": "..."}}}}},
}


@router.post("/move", responses={200: _MOVED})
async def move(request: Request, body: CheckRequest) -> Response:
    """Move this installation to another data path of the same machine (``fingerprint.data_path``: the new one).

    Send ``Authorization: Device <device>:<secret>`` and the current ``token``. The
    answer carries a new token; the state left in the old folder is then a copy.
    """
    credential = parse_device_credential(request.headers.get("authorization"))
    return Response(await answer(request, body, credential, "move"), media_type="application/json")
