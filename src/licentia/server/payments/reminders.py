"""Trial-ending reminders: N days before a subscription's free trial ends, the customer is told.

Optional per product (``customer_email_settings.trial_reminder_days``). Every
server process runs the task; a reminder is claimed by one guarded update of
``payment_trials.reminded_at`` and its email has a dedupe key, so several
workers never send it twice.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
from typing import TYPE_CHECKING

import sqlalchemy as sa

from licentia.server.customers import emails
from licentia.server.schedule import ScheduledTask
from licentia.server.state import state_of
from licentia.server.store.tables import customers, email_settings, licenses, products
from licentia.server.store.tables import payment_trials as trials

if TYPE_CHECKING:
    from fastapi import FastAPI

log = logging.getLogger("licentia.server.payments")
INTERVAL_SECONDS = 600.0
BATCH = 500


def send_trial_reminders(conn: sa.Connection, *, now: dt.datetime, reply_default: str | None) -> int:
    """Queue the reminders that are due; returns how many."""
    rows = conn.execute(
        sa.select(
            trials.c.license_id,
            trials.c.ends_at,
            email_settings.c.trial_reminder_days,
            licenses.c.product_id,
            customers.c.email,
            customers.c.name,
            products.c.name.label("product_name"),
        )
        .join(licenses, licenses.c.id == trials.c.license_id)
        .join(products, products.c.id == licenses.c.product_id)
        .join(email_settings, email_settings.c.product_id == licenses.c.product_id)
        .join(customers, customers.c.id == licenses.c.customer_id)
        .where(
            trials.c.reminded_at.is_(None),
            trials.c.ends_at > now,
            email_settings.c.trial_reminder_days.is_not(None),
            licenses.c.state == "active",
        )
        .order_by(trials.c.ends_at)
        .limit(BATCH)
    ).all()
    sent = 0
    for row in rows:
        if row.ends_at - dt.timedelta(days=row.trial_reminder_days) > now:
            continue
        claimed = conn.execute(
            trials.update()
            .where(trials.c.license_id == row.license_id, trials.c.reminded_at.is_(None))
            .values(reminded_at=now)
        ).rowcount
        if not claimed:
            continue
        days = max(1, round((row.ends_at - now) / dt.timedelta(days=1)))
        body = emails.trial_ending_email(name=row.name, product_name=row.product_name, ends_at=row.ends_at, days=days)
        reply_to = emails.reply_to_for(conn, product_id=row.product_id, default=reply_default)
        emails.send(conn, body, to=row.email, now=now, reply_to=reply_to, dedupe_key=f"trial-ending:{row.license_id}")
        sent += 1
    return sent


async def remind_in_server(app: FastAPI) -> int:
    """:func:`send_trial_reminders` inside a running server."""
    state = state_of(app)
    async with state.async_engine.begin() as conn:
        now, reply_default = state.clock.now(), state.settings.customer_reply_to
        return await conn.run_sync(functools.partial(send_trial_reminders, now=now, reply_default=reply_default))


# At start, then every ten minutes. A database hiccup must not end the loop: the next round sends what is still due.
TRIAL_REMINDERS = ScheduledTask(
    name="licentia-trial-reminders",
    interval=lambda settings: INTERVAL_SECONDS,
    job=remind_in_server,
    first_after=0.0,
    log=log,
    done=None,
    failed=f"trial reminders failed; retrying in {INTERVAL_SECONDS} s",
)
