"""Previews of the customer emails: each template rendered with sample data, as text and as HTML.

The HTML is served on its own URL and shown in a sandboxed frame (no scripts,
no same-origin rights): the only page framing is our own, allowed by that
response alone.
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, Response

from licentia.server.admin.emails.previews import PreviewSet, preview_set
from licentia.server.admin.service import all_products
from licentia.server.admin.web import Admin, render
from licentia.server.state import read_only, state_of
from licentia.server.web.frame import SECURITY_HEADERS, now

router = APIRouter(prefix="/emails")


async def _set(request: Request) -> PreviewSet:
    settings = state_of(request.app).settings
    return await read_only(
        request,
        preview_set,
        product=request.query_params.get("product") or None,
        default_reply_to=settings.customer_reply_to,
        link_minutes=settings.portal_link_minutes,
        now=now(request),
    )


@router.get("")
async def emails_page(request: Request, admin: Admin) -> Response:
    chosen = await _set(request)
    products = await read_only(request, all_products)
    return render(request, "emails.html", set=chosen, products=products)


@router.get("/{name}.html")
async def email_html(request: Request, admin: Admin, name: str) -> Response:
    preview = (await _set(request)).get(name)
    if preview is None:
        raise HTTPException(404, f"no email template {name!r}")
    headers = dict(SECURITY_HEADERS)
    # Framed by the previews page only; the email's own inline styles are allowed, nothing else.
    headers.update(
        {
            "X-Frame-Options": "SAMEORIGIN",
            "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'self'",
        }
    )
    return HTMLResponse(preview.html, headers=headers)
