"""Seats freed on a schedule: a machine unseen for its policy's ``seat_release_days`` leaves the license.

Not only at the next activation: a customer whose old computer died sees the
seat free on its own, and the vendor sees when each seat frees
(``frees_at``). Safe with several workers and several servers: each
license is handled in one transaction that first takes the license's row
lock on PostgreSQL (the same lock activations take) or SQLite's write lock,
and re-reads what is stale under it, so a second worker finds nothing left to
free and writes nothing.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

import sqlalchemy as sa

from licentia.server.devices.seats import release_stale_seats
from licentia.server.policies.terms import effective
from licentia.server.schedule import ScheduledTask, each_in_transactions, each_in_writer
from licentia.server.state import state_of
from licentia.server.store.tables import devices, licenses, policies

log = logging.getLogger("licentia.seats")
FIRST_RUN_AFTER_SECONDS = 30.0
CHUNK = 200


def stale_licenses(conn: sa.Connection, now: dt.datetime) -> list[int]:
    """Licenses holding a machine unseen for at least the shortest release period any license has."""
    shortest = conn.execute(
        sa.select(sa.func.min(policies.c.seat_release_days)).where(policies.c.seat_release_days > 0)
    ).scalar()
    # A license may shorten its policy's period: read those few overrides too.
    for overrides in conn.execute(
        sa.select(licenses.c.policy_overrides).where(
            sa.cast(licenses.c.policy_overrides, sa.Text).like("%seat_release_days%")
        )
    ).scalars():
        days = (overrides or {}).get("seat_release_days")
        if days:
            shortest = min(shortest or days, days)
    if not shortest:
        return []
    cutoff = now - dt.timedelta(days=int(shortest))
    seen = sa.func.max(devices.c.last_seen)
    rows = conn.execute(
        sa.select(devices.c.license_id)
        .where(devices.c.license_id.is_not(None), devices.c.seen_day <= cutoff.date())
        .group_by(devices.c.license_id, devices.c.machine_id)
        .having(seen < cutoff)
    ).scalars()
    return sorted(set(rows))


def release_license(conn: sa.Connection, license_id: int, now: dt.datetime) -> int:
    """Free the stale seats of one license under its lock; 0 when another worker already did."""
    query = sa.select(licenses.c.policy_id, licenses.c.policy_overrides).where(licenses.c.id == license_id)
    if conn.dialect.name == "postgresql":
        query = query.with_for_update()
    lic = conn.execute(query).first()
    if lic is None:
        return 0
    policy = conn.execute(sa.select(policies).where(policies.c.id == lic.policy_id)).one()
    days = effective(dict(policy._mapping), lic.policy_overrides)["seat_release_days"]
    return release_stale_seats(conn, license_id, days, now)


def release_all(engine: sa.Engine, now: dt.datetime) -> int:
    """Every stale seat, one transaction per license (CLI, tests)."""
    return each_in_transactions(
        engine, lambda conn: stale_licenses(conn, now), lambda conn, license_id: release_license(conn, license_id, now)
    )


async def release_in_server(app: Any) -> int:
    """The same inside a running server, as writer jobs of :data:`CHUNK` licenses between status checks."""
    now = state_of(app).clock.now()
    return await each_in_writer(
        app,
        lambda conn: stale_licenses(conn, now),
        lambda conn, license_id: release_license(conn, license_id, now),
        chunk=CHUNK,
    )


# A seat freed an hour late harms nobody: a failed run waits for the next.
SEAT_RELEASE = ScheduledTask(
    name="licentia-seat-release",
    interval=lambda settings: settings.seat_release_interval_seconds,
    job=release_in_server,
    first_after=FIRST_RUN_AFTER_SECONDS,
    log=log,
    done="seats freed on schedule: %d machines",
    failed="scheduled seat release failed",
)
