"""The dashboard and the audit log."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, Request
from fastapi.responses import Response

from licentia.server.admin.dashboard import PERIODS, dashboard
from licentia.server.admin.service import all_products, audit_log, counts, product_by_id
from licentia.server.admin.web import Admin, now, render
from licentia.server.adminapi.schemas import RowId
from licentia.server.state import read_only

router = APIRouter()


@router.get("/")
async def home(request: Request, admin: Admin, product: RowId | None = None, days: int = 30) -> Response:
    days = days if days in PERIODS else PERIODS[0]
    moment = now(request)

    def load(conn: sa.Connection) -> dict[str, Any]:
        chosen = product_by_id(conn, product)
        if chosen is None:
            return {"products": [], "product": None}
        return {
            "products": all_products(conn),
            "product": chosen,
            "counts": counts(conn, chosen.id, moment),
            "board": dashboard(conn, product_id=chosen.id, today=moment.date(), days=days),
        }

    return render(request, "dashboard.html", periods=PERIODS, days=days, **await read_only(request, load))


@router.get("/audit")
async def audit(request: Request, admin: Admin, q: str = "", before: RowId | None = None) -> Response:
    entries = await read_only(request, audit_log, q=q, before_id=before)
    return render(request, "audit.html", entries=entries, q=q)
