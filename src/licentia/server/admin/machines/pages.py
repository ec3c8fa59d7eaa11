"""The machines list (``/admin/machines``): every computer the products saw, named for people, paged and searchable.

A machine is named as the portal names it (``customers.service.MachineView``):
the customer's label, else the computer's name (the ``computer_name`` client
fact, when the product collects facts), else the system of its newest
installation. A search matches a machine id or an installation id (prefix), a
label or a computer name (part of it).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from licentia.server.admin.lists.listing import capped_count
from licentia.server.admin.lists.specs import COMPUTER_NAME_FACT
from licentia.server.admin.web import Admin, render
from licentia.server.state import EngineDep
from licentia.server.store import transactions
from licentia.server.store.tables import devices, licenses, machines, products

router = APIRouter(prefix="/machines")
PAGE_SIZE, COUNT_CAP = 50, 10_000


@dataclass(frozen=True)
class MachineRow:
    id: str
    name: str
    system: str | None
    product: str
    installations: int
    newest: str  # the installation its link opens
    license_prefix: str | None
    restriction: str | None
    trial_end: dt.datetime | None
    first_seen: dt.datetime
    last_seen: dt.datetime


def _matching(q: str) -> Any:
    text = q.strip()
    named = sa.func.lower(devices.c.facts[COMPUTER_NAME_FACT].as_string()).contains(text.lower(), autoescape=True)
    own = sa.or_(devices.c.id.startswith(text, autoescape=True), named)
    return sa.or_(
        machines.c.id.startswith(text, autoescape=True),
        sa.func.lower(machines.c.label).contains(text.lower(), autoescape=True),
        sa.exists().where(devices.c.machine_id == machines.c.id, own),
    )


def machine_page(conn: sa.Connection, *, q: str, page: int) -> tuple[list[MachineRow], int, bool]:
    """One page of machines, newest first, with the number matching (up to ``COUNT_CAP``)."""
    query = sa.select(machines, products.c.slug.label("product")).join(products, products.c.id == machines.c.product_id)
    if q.strip():
        query = query.where(_matching(q))
    total, exact = capped_count(conn, query, cap=COUNT_CAP)
    found = conn.execute(
        query.order_by(machines.c.first_seen.desc(), machines.c.id).limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)
    ).all()
    installs: dict[str, list[Any]] = {}
    columns = (devices.c.id, devices.c.machine_id, devices.c.facts, devices.c.os_name, devices.c.last_seen)
    for inst in conn.execute(
        sa.select(*columns, licenses.c.key_prefix)
        .outerjoin(licenses, licenses.c.id == devices.c.license_id)
        .where(devices.c.machine_id.in_([m.id for m in found]))
        .order_by(devices.c.last_seen.desc())
    ).all():
        installs.setdefault(inst.machine_id, []).append(inst)
    rows = []
    for m in found:
        insts = installs.get(m.id) or []
        newest = insts[0] if insts else None
        computer = next((i.facts[COMPUTER_NAME_FACT] for i in insts if (i.facts or {}).get(COMPUTER_NAME_FACT)), None)
        system = newest.os_name if newest else None
        rows.append(
            MachineRow(
                id=m.id,
                name=m.label or computer or system or "a computer",
                system=system,
                product=m.product,
                installations=len(insts),
                newest=newest.id if newest else "",
                license_prefix=next((i.key_prefix for i in insts if i.key_prefix), None),
                restriction=m.restriction,
                trial_end=m.trial_end,
                first_seen=m.first_seen,
                last_seen=newest.last_seen if newest else m.first_seen,
            )
        )
    return rows, total, exact


@router.get("")
async def machines_page(
    request: Request,
    engine: EngineDep,
    admin: Admin,
    q: Annotated[str, Query(max_length=200)] = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    rows, total, exact = await transactions.read_only(engine, machine_page, q=q, page=page)
    return render(
        request,
        "machines.html",
        rows=rows,
        total=total,
        exact=exact,
        q=q,
        page=page,
        first=(page - 1) * PAGE_SIZE + 1,
        has_next=page * PAGE_SIZE < total,
        section="machines",
    )
