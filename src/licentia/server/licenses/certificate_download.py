"""A purchase certificate as a download (the admin UI, the developer API and the portal serve it)."""

from __future__ import annotations

from typing import Any

from fastapi.responses import Response

from licentia.server.licenses.certificate import MEDIA_TYPE, Certificate

# The developer API's documented answers for a certificate download.
RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "The signed purchase certificate (docs/licensing-models.md)", "content": {MEDIA_TYPE: {}}},
    404: {"description": "`unknown_license`, or `no_purchase_certificate` (a license without a customer)"},
}


def as_download(certificate: Certificate) -> Response:
    return Response(
        certificate.body,
        media_type=MEDIA_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{certificate.filename}"', "Cache-Control": "no-store"},
    )
