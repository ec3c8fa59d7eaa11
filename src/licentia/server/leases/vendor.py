"""What the vendor sees of a license's floating seats, and freeing one (developer API, admin UI, CLI)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa

from licentia.server import audit
from licentia.server.errors import ApiError, ErrorCode
from licentia.server.leases.decide import machines_holding
from licentia.server.leases.service import FORCE_RELEASED, LIVE, end, lease_view, reclaim_expired
from licentia.server.store.tables import leases, licenses

# The history shown with a license: live leases first, then the most recent ended ones.
HISTORY = 200


def license_leases(conn: sa.Connection, *, license_id: int, now: dt.datetime) -> dict[str, Any]:
    """The license's leases (live first) and how many seats are taken: a read, nothing changes."""
    if conn.execute(sa.select(licenses.c.id).where(licenses.c.id == license_id)).first() is None:
        raise ApiError(ErrorCode.UNKNOWN_LICENSE, f"no license with id {license_id}")
    rows = conn.execute(
        sa.select(leases)
        .where(leases.c.license_id == license_id)
        .order_by(leases.c.ended_at.is_not(None), leases.c.created_at.desc())
        .limit(HISTORY)
    ).all()
    views = [lease_view(row, now) for row in rows]
    live = [row for row, view in zip(rows, views, strict=True) if view["state"] == LIVE]
    views.sort(key=lambda v: (v["state"] != LIVE, -v["created_at"].timestamp()))
    return {"license_id": license_id, "seats_used": len(machines_holding(live)), "leases": views}


def force_release(
    conn: sa.Connection, *, license_id: int, lease_id: str, actor: str, now: dt.datetime
) -> dict[str, Any]:
    """Free a lease's seat at once (a crashed machine, a lost laptop's borrow); audited.

    The machine learns it at its next heartbeat (``lease_expired``). A borrowed
    lease's signed document stays valid offline on that machine until its end:
    nothing can reach a machine that is offline.
    """
    lease = conn.execute(sa.select(leases).where(leases.c.id == lease_id, leases.c.license_id == license_id)).first()
    if lease is None:
        raise ApiError(ErrorCode.UNKNOWN_LEASE, f"license {license_id} has no lease {lease_id!r}")
    reclaim_expired(conn, license_id, now)
    freed = end(conn, lease_id, now, FORCE_RELEASED)
    if freed:
        audit.record(
            conn,
            audit.AuditAction.LEASE_FORCE_RELEASE,
            license_id,
            actor=actor,
            now=now,
            lease=lease_id,
            machine=lease.machine_id,
            device=lease.device_id,
            borrowed_until=lease.borrowed_until.isoformat() if lease.borrowed_until else None,
        )
    row = conn.execute(sa.select(leases).where(leases.c.id == lease_id)).one()
    return lease_view(row, now)
