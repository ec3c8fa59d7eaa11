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
from licentia.server.state import AppState, EngineDep, StateDep
from licentia.server.store import transactions
from licentia.server.web.frame import SECURITY_HEADERS

router = APIRouter(prefix="/emails")


async def _set(request: Request, state: AppState) -> PreviewSet:
    return await transactions.read_only(
        state.async_engine,
        preview_set,
        product=request.query_params.get("product") or None,
        default_reply_to=state.settings.customer_reply_to,
        link_minutes=state.settings.portal_link_minutes,
        now=state.clock.now(),
    )


@router.get("")
async def emails_page(request: Request, state: StateDep, engine: EngineDep, admin: Admin) -> Response:
    chosen = await _set(request, state)
    products = await transactions.read_only(engine, all_products)
    return render(request, "emails.html", set=chosen, products=products)


@router.get("/{name}.html")
async def email_html(request: Request, state: StateDep, admin: Admin, name: str) -> Response:
    preview = (await _set(request, state)).get(name)
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
