"""The dashboard's work queues (what to act on today) and the first-run checklist.

Each queue shows a few rows and links to the full, filtered list (which has
the export). Every query is bounded: ``LIMIT`` on an indexed or narrowed scan.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa

from licentia.core.vocabulary import EventKind
from licentia.server.admin.lists.listing import capped_count
from licentia.server.licenses import seats
from licentia.server.rollups.headline import full_licenses as licenses_full
from licentia.server.store.tables import customers, devices, events, licenses, machines, releases

SHOWN = 8
# A queue counts up to this many and then says "100+": a work queue needs the order of magnitude,
# and each counted row of some queues costs a look-up (seats in use, the machine's installations).
COUNT_CAP = 100
WEEK = dt.timedelta(days=7)
EXTEND_DAYS = 14  # the one-click extension


def work_queues(conn: sa.Connection, *, product_id: int, now: dt.datetime) -> dict[str, Any]:
    """Rows to act on, newest or most urgent first, with how many there are in all (up to a cap)."""

    def bounded(query: sa.Select[Any]) -> tuple[list[Any], str]:
        rows = list(conn.execute(query.limit(SHOWN)).all())
        if len(rows) < SHOWN:
            return rows, f"{len(rows):,}"
        total, exact = capped_count(conn, query, cap=COUNT_CAP)
        return rows, f"{total:,}" if exact else f"{COUNT_CAP:,}+"

    of_product = devices.c.product_id == product_id
    # One row per machine (the trial is the machine's), named by its most recent unlicensed installation.
    unlicensed = (
        sa.select(devices.c.id)
        .where(devices.c.machine_id == machines.c.id, devices.c.license_id.is_(None))
        .order_by(devices.c.last_seen.desc())
        .limit(1)
        .scalar_subquery()
    )
    # Named for people: the computer's name (when facts are collected), its system, the customer its machine
    # was licensed to before (a trial has none until it buys).
    named = devices.alias("named")
    ending = (
        sa.select(
            unlicensed.label("id"),
            machines.c.id.label("machine_id"),
            machines.c.trial_end,
            named.c.facts,
            named.c.os_name,
            named.c.last_seen,
        )
        .select_from(machines.join(named, named.c.id == unlicensed))
        .where(
            machines.c.product_id == product_id,
            machines.c.restriction.is_(None),
            machines.c.trial_end >= now,
            machines.c.trial_end < now + WEEK,
            unlicensed.is_not(None),
        )
        .order_by(machines.c.trial_end)
    )
    # The machine's trial end as a subquery, not a join: PostgreSQL then looks it up for the eight rows
    # shown, after the sort, not for each of today's expired trials before it (every installation has
    # its machine, so no row is lost).
    trial_end = sa.select(machines.c.trial_end).where(machines.c.id == devices.c.machine_id).scalar_subquery()
    leads = (
        sa.select(
            devices.c.id, devices.c.last_seen, devices.c.app_version, devices.c.facts, trial_end.label("trial_end")
        )
        .where(
            of_product,
            devices.c.status == "trial_expired",
            devices.c.superseded_by.is_(None),  # a lineage is one lead, by its latest installation
            devices.c.seen_day >= (now - WEEK).date(),
            devices.c.last_seen >= now - WEEK,
        )
        # Newest first, by the indexed status and day (ix_devices_product_status_seen_day) and then the
        # time within the day: the first rows come from today's expired trials, not from a sort of the
        # whole week's (hundreds of thousands at ten million).
        .order_by(devices.c.seen_day.desc(), devices.c.last_seen.desc())
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

    def with_names(query: sa.Select[Any]) -> sa.Select[Any]:
        return query.add_columns(licenses.c.key_prefix, customers.c.email).outerjoin(
            customers, customers.c.id == licenses.c.customer_id
        )

    def full() -> tuple[list[Any], str]:
        """Licenses at their seat limit, from the minute's run: finding them reads every licensed installation."""
        stored = licenses_full(conn, product_id=product_id, today=now.date())
        if stored is None:  # before the minute's first run
            return bounded(with_names(seats.full_licenses(product_id)))
        count, newest = stored
        # Its newest few, read again: one whose seat was freed since drops out (the count moves at the next run).
        rows = list(conn.execute(with_names(seats.full_licenses(product_id, among=newest))).all()) if newest else []
        return rows[:SHOWN], f"{count:,}" if count <= COUNT_CAP else f"{COUNT_CAP:,}+"

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
        "full": full(),
        "expiring": bounded(expiring),
        "extend_days": EXTEND_DAYS,
    }


def first_run(conn: sa.Connection, *, product_id: int) -> dict[str, bool]:
    """Which steps of getting started are done (the dashboard is a checklist until the first check-in)."""

    def exists(table: sa.Table) -> bool:
        query = sa.select(table.c.id).where(table.c.product_id == product_id).limit(1)
        return conn.execute(query).first() is not None

    return {"checked_in": exists(devices), "licensed": exists(licenses), "released": exists(releases)}
