"""Events that happen by the passing of time: a trial ending soon, a trial ended, a license expired.

Nothing calls the server at the moment a trial or a license runs out, so a
scheduled sweep in every process looks for them (as seat release does).
Safe with several workers on several hosts: each cause has one outbox
dedupe key (the machine or license and the date it ends), and the outbox's
unique index lets only the first writer queue it; a second sweep, on this
host or another, writes nothing. A sweep that did not run for a while (the
server was down) catches up on what ended within ``LOOKBACK``.

Only products with a webhook that wants one of these events are swept, so a
server without webhooks runs one small query an hour.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

import sqlalchemy as sa

from licentia.server.notify.catalog import WebhookEvent, emit, license_event
from licentia.server.schedule import ScheduledTask, each_in_transactions, each_in_writer
from licentia.server.state import state_of
from licentia.server.store.tables import devices, licenses, machines, products, webhooks

log = logging.getLogger("licentia.notify")

TRIAL_ENDING_DAYS = 3
LOOKBACK = dt.timedelta(days=7)
FIRST_RUN_AFTER_SECONDS = 45.0
BATCH = 500
SWEPT = (WebhookEvent.TRIAL_ENDING, WebhookEvent.TRIAL_EXPIRED, WebhookEvent.LICENSE_EXPIRED)


def products_listening(conn: sa.Connection) -> list[int]:
    """Products with an active endpoint for a swept event (an endpoint of every product counts for all)."""
    hooks = conn.execute(sa.select(webhooks.c.product_id, webhooks.c.topics).where(webhooks.c.active.is_(True))).all()
    wanted = [h for h in hooks if not h.topics or any(event in (h.topics or ()) for event in SWEPT)]
    if not wanted:
        return []
    if any(h.product_id is None for h in wanted):
        return list(conn.execute(sa.select(products.c.id)).scalars())
    return sorted({int(h.product_id) for h in wanted})


def _unlicensed_trials(product_id: int, start: dt.datetime, end: dt.datetime) -> sa.Select[Any]:
    licensed = sa.exists().where(devices.c.machine_id == machines.c.id, devices.c.license_id.is_not(None))
    return (
        sa.select(machines.c.id, machines.c.trial_end)
        .where(
            machines.c.product_id == product_id,
            machines.c.trial_end > start,
            machines.c.trial_end <= end,
            machines.c.restriction.is_(None),
            ~licensed,
        )
        .order_by(machines.c.trial_end)
        .limit(BATCH)
    )


def _trial_data(conn: sa.Connection, machine_id: str, trial_end: dt.datetime) -> dict[str, Any]:
    installations = conn.execute(
        sa.select(devices.c.id).where(devices.c.machine_id == machine_id).order_by(devices.c.first_seen).limit(20)
    ).scalars()
    return {"machine": {"id": machine_id, "trial_end": trial_end.isoformat(), "installations": list(installations)}}


def sweep_product(conn: sa.Connection, product_id: int, now: dt.datetime) -> int:
    """Queue this product's time-based events that are due; return how many deliveries were queued."""
    queued = 0
    for event, start, end in (
        (WebhookEvent.TRIAL_ENDING, now, now + dt.timedelta(days=TRIAL_ENDING_DAYS)),
        (WebhookEvent.TRIAL_EXPIRED, now - LOOKBACK, now),
    ):
        for machine_id, trial_end in conn.execute(_unlicensed_trials(product_id, start, end)).all():
            queued += emit(
                conn,
                event,
                product_id=product_id,
                data=_trial_data(conn, machine_id, trial_end),
                now=now,
                dedupe_key=f"{machine_id}:{trial_end.isoformat()}",
            )
    expired = conn.execute(
        sa.select(licenses.c.id, licenses.c.expires_at)
        .where(
            licenses.c.product_id == product_id,
            licenses.c.expires_at > now - LOOKBACK,
            licenses.c.expires_at <= now,
            licenses.c.state.in_(("active", "expired")),
        )
        .limit(BATCH)
    ).all()
    for license_id, expires_at in expired:
        queued += license_event(
            conn, WebhookEvent.LICENSE_EXPIRED, license_id=license_id, now=now, cause=f"ends:{expires_at.isoformat()}"
        )
    return queued


def sweep_all(engine: sa.Engine, now: dt.datetime) -> int:
    """Every product, one transaction each (CLI, tests)."""
    return each_in_transactions(
        engine, products_listening, lambda conn, product_id: sweep_product(conn, product_id, now)
    )


async def sweep_in_server(app: Any) -> int:
    """The same inside a running server, as writer jobs between status checks."""
    now = state_of(app).clock.now()
    return await each_in_writer(app, products_listening, lambda conn, product_id: sweep_product(conn, product_id, now))


# The dedupe keys make a late or repeated run harmless: a failed run waits for the next.
SWEEP = ScheduledTask(
    name="licentia-notify-sweep",
    interval=lambda settings: settings.notify_sweep_interval_seconds,
    job=sweep_in_server,
    first_after=FIRST_RUN_AFTER_SECONDS,
    log=log,
    done="time-based webhook events queued: %d",
    failed="webhook event sweep failed",
)
