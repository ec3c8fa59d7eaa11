"""The dashboard's work queues (what to act on today) and the first-run checklist.

Each queue shows a few rows and links to the full, filtered list (which has
the export). Every query is bounded: ``LIMIT`` on an indexed or narrowed scan.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa

from licentia.core.vocabulary import EventKind
from licentia.server.admin.lists import (
    customers,
    devices,
    events,
    licenses,
    machines,
    policies,
    releases,
    seat_limit,
    seats_used,
)

SHOWN = 8
WEEK = dt.timedelta(days=7)
EXTEND_DAYS = 14  # the one-click extension


def work_queues(conn: sa.Connection, *, product_id: int, now: dt.datetime) -> dict[str, Any]:
    """Rows to act on, newest or most urgent first, with how many there are in all (up to a cap)."""

    def bounded(query: sa.Select[Any]) -> tuple[list[Any], int]:
        rows = list(conn.execute(query.limit(SHOWN)).all())
        inner = query.with_only_columns(sa.literal(1), maintain_column_froms=True).order_by(None).limit(1000).subquery()
        return rows, int(conn.execute(sa.select(sa.func.count()).select_from(inner)).scalar_one())

    of_product = devices.c.product_id == product_id
    # One installation per machine: the trial is the machine's.
    ending = (
        sa.select(
            sa.func.max(devices.c.id).label("id"),
            machines.c.id.label("machine_id"),
            machines.c.trial_end,
            sa.func.max(devices.c.last_seen).label("last_seen"),
        )
        .join(machines, machines.c.id == devices.c.machine_id)
        .where(
            of_product,
            devices.c.license_id.is_(None),
            machines.c.restriction.is_(None),
            machines.c.trial_end >= now,
            machines.c.trial_end < now + WEEK,
        )
        .group_by(machines.c.id, machines.c.trial_end)
        .order_by(machines.c.trial_end)
    )
    leads = (
        sa.select(devices.c.id, devices.c.last_seen, devices.c.app_version, devices.c.facts, machines.c.trial_end)
        .join(machines, machines.c.id == devices.c.machine_id)
        .where(
            of_product,
            devices.c.status == "trial_expired",
            devices.c.seen_day >= (now - WEEK).date(),
            devices.c.last_seen >= now - WEEK,
        )
        .order_by(devices.c.last_seen.desc())
    )
    copies = (
        sa.select(events.c.device_id.label("id"), sa.func.max(events.c.received_at).label("at"))
        .where(
            events.c.product_id == product_id,
            events.c.received_at >= now - WEEK,
            events.c.kind == EventKind.CLONE_SUSPECTED.value,
        )
        .group_by(events.c.device_id)
        .order_by(sa.func.max(events.c.received_at).desc())
    )
    used, limit = seats_used(), seat_limit()
    full = (
        sa.select(licenses.c.id, licenses.c.key_prefix, customers.c.email, used.label("used"), limit.label("limit"))
        .join(policies, policies.c.id == licenses.c.policy_id)
        .outerjoin(customers, customers.c.id == licenses.c.customer_id)
        .where(licenses.c.product_id == product_id, licenses.c.state == "active", used >= limit)
        .order_by(licenses.c.id.desc())
    )
    expiring = (
        sa.select(licenses.c.id, licenses.c.key_prefix, licenses.c.expires_at, customers.c.email)
        .outerjoin(customers, customers.c.id == licenses.c.customer_id)
        .where(
            licenses.c.product_id == product_id,
            licenses.c.state == "active",
            licenses.c.expires_at >= now,
            licenses.c.expires_at < now + dt.timedelta(days=30),
        )
        .order_by(licenses.c.expires_at)
    )
    return {
        "ending": bounded(ending),
        "leads": bounded(leads),
        "copies": bounded(copies),
        "full": bounded(full),
        "expiring": bounded(expiring),
        "extend_days": EXTEND_DAYS,
    }


def first_run(conn: sa.Connection, *, product_id: int) -> dict[str, bool]:
    """Which steps of getting started are done (the dashboard is a checklist until the first check-in)."""

    def exists(table: sa.Table) -> bool:
        query = sa.select(table.c.id).where(table.c.product_id == product_id).limit(1)
        return conn.execute(query).first() is not None

    return {"checked_in": exists(devices), "licensed": exists(licenses), "released": exists(releases)}
