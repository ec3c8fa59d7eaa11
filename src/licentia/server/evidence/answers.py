"""An evidence report as an HTTP answer: tab-separated rows, signed JSON or HTML (developer API and admin UI)."""

from __future__ import annotations

import datetime as dt
from typing import Literal

import sqlalchemy as sa
from cryptography.fernet import Fernet
from fastapi.responses import HTMLResponse, Response

from licentia.server.evidence.report import html, signed_json, tsv
from licentia.server.evidence.signing import product_signer
from licentia.server.evidence.subjects import Subject

ReportFormat = Literal["json", "csv", "html"]


def _filename(subject: Subject, ext: str) -> str:
    ident = subject.license.key_prefix if subject.kind == "license" and subject.license else subject.devices[0].id
    return f"evidence-{subject.product.slug}-{ident}.{ext}"


def report_response(
    conn: sa.Connection, subject: Subject, fmt: ReportFormat, *, now: dt.datetime, fernet: Fernet
) -> Response:
    """One report in the asked form; the developer API and the admin UI answer the same documents."""
    if fmt == "csv":
        return Response(
            tsv(subject),
            media_type="text/tab-separated-values; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{_filename(subject, "tsv")}"'},
        )
    if fmt == "html":
        return HTMLResponse(html(subject, now=now))
    signer, chain = product_signer(conn, subject.product.id, fernet)
    return Response(
        signed_json(subject, now=now, signer=signer, endorsements=chain),
        media_type="application/json",
        headers={"Content-Disposition": f'inline; filename="{_filename(subject, "json")}"'},
    )
