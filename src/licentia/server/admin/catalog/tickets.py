"""Installer tickets in the admin UI (``/admin/tickets``): mint one for a download, see what started from each."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from licentia.server.admin.service import all_products
from licentia.server.admin.web import Admin, Posted, render
from licentia.server.state import EngineDep, FernetDep
from licentia.server.store import transactions
from licentia.server.tickets.service import TICKET_FILE, Download, Minted, list_tickets, mint_ticket

router = APIRouter()


@router.get("/tickets")
async def tickets_page(request: Request, engine: EngineDep, admin: Admin, product: str = "") -> Response:
    products = await transactions.read_only(engine, all_products)
    slug = product if any(p.slug == product for p in products) else None
    tickets = await transactions.read_only(engine, list_tickets, product=slug)
    return render(request, "tickets.html", tickets=tickets, products=products, product=slug)


def _as_file(minted: Minted) -> Response:
    headers = {"Content-Disposition": f'attachment; filename="{TICKET_FILE}"', "Cache-Control": "no-store"}
    return Response(minted.signed, media_type="application/json", headers=headers)


@router.post("/tickets")
async def mint(fernet: FernetDep, posted: Posted) -> Response:
    """Mint a ticket and hand it over as ``licentia-ticket.json``, to put beside the installer."""
    form = posted.form
    numbers = {name: form.get(name, "").strip() for name in ("customer_id", "license_id")}
    if any(value and not value.isdigit() for value in numbers.values()):
        return posted.back("/admin/tickets", error="A customer or license is named by its number.")
    customer, license_id = (int(value) if value else None for value in numbers.values())
    download = Download(form.get("product", ""), form.get("release", "").strip()[:64] or None, customer, license_id)
    return await posted.run(mint_ticket, success=_as_file, back_to="/admin/tickets", download=download, fernet=fernet)
