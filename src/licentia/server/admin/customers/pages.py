"""A customer's page: what they own and were sent, and the support desk's actions."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response

from licentia.server.admin.customers.reads import customer_detail, resend_message
from licentia.server.admin.web import Admin, Flashes, Form, render
from licentia.server.errors import ApiError
from licentia.server.fields import RowId
from licentia.server.licenses.resend import new_resend_id, resend_key
from licentia.server.state import AppState, EngineDep, StateDep
from licentia.server.store import transactions

router = APIRouter(prefix="/customers")


@router.get("/{customer_id}")
async def customer_page(request: Request, engine: EngineDep, admin: Admin, customer_id: RowId) -> Response:
    detail = await transactions.read_only(engine, customer_detail, customer_id=customer_id)
    if detail is None:
        raise HTTPException(404, f"no customer {customer_id}")
    return render(request, "customer.html", resend_id=new_resend_id(), **detail)


async def resend_from_form(state: AppState, admin: Admin, form: dict[str, str], **target: int) -> str:
    """Run "Resend key" for the customer or the license page; the message to show (errors raise ApiError)."""
    resent = await transactions.in_transaction(
        state.async_engine,
        resend_key,
        resend_id=form.get("resend_id", ""),
        actor=admin.label,
        now=state.clock.now(),
        fernet=state.fernet,
        reply_default=state.settings.customer_reply_to,
        **target,
    )
    return resend_message(resent, smtp_configured=bool(state.settings.smtp_host))


@router.post("/{customer_id}/licenses/{license_id}/resend-key")
async def resend(
    state: StateDep, admin: Admin, form: Form, flash: Flashes, customer_id: RowId, license_id: RowId
) -> Response:
    back_to = f"/admin/customers/{customer_id}"
    try:
        done = await resend_from_form(state, admin, form, customer_id=customer_id, license_id=license_id)
    except ApiError as exc:
        return flash.back(back_to, error=exc.message)
    return flash.back(back_to, done=done)
