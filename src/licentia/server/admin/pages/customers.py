"""A customer's page: what they own and were sent, and the support desk's actions."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response

from licentia.server.admin.customers import customer_detail, resend_key
from licentia.server.admin.web import Admin, Form, act, render
from licentia.server.adminapi.schemas import RowId
from licentia.server.state import read_only

router = APIRouter(prefix="/customers")


@router.get("/{customer_id}")
async def customer_page(request: Request, admin: Admin, customer_id: RowId) -> Response:
    detail = await read_only(request, customer_detail, customer_id=customer_id)
    if detail is None:
        raise HTTPException(404, f"no customer {customer_id}")
    return render(request, "customer.html", **detail)


@router.post("/{customer_id}/licenses/{license_id}/resend-key")
async def resend(request: Request, admin: Admin, form: Form, customer_id: RowId, license_id: RowId) -> Response:
    return await act(
        request,
        resend_key,
        success="The key email goes out again now.",
        back_to=f"/admin/customers/{customer_id}",
        customer_id=customer_id,
        license_id=license_id,
        actor=admin.label,
    )
