"""Idempotency keys of consumptions are kept a week, then purged hourly by every server process.

A key only guards the retries of one consumption (the SDK's come within its
timeout); keeping them for ever would grow ``meter_consumptions`` by a row per
consumption. A purge run by several processes at once deletes each row once.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

import sqlalchemy as sa

from licentia.server.schedule import ScheduledTask
from licentia.server.state import state_of
from licentia.server.store.tables import meter_consumptions as consumptions

log = logging.getLogger("licentia.server.meters")
KEYS_KEPT = dt.timedelta(days=7)
PURGE_EVERY_SECONDS = 3600.0


def purge_keys(conn: sa.Connection, now: dt.datetime) -> int:
    """Delete the idempotency keys older than :data:`KEYS_KEPT`; how many went."""
    done = conn.execute(consumptions.delete().where(consumptions.c.consumed_at < now - KEYS_KEPT))
    return int(done.rowcount or 0)


async def purge_in_server(app: Any) -> int:
    """:func:`purge_keys` inside a running server, as a writer job between status checks."""
    state = state_of(app)
    return await state.writer.run(lambda conn: purge_keys(conn, state.clock.now()))


# Retried at the next run: a key kept an hour longer harms nobody.
KEY_PURGE = ScheduledTask(
    name="licentia-meter-keys",
    interval=lambda settings: PURGE_EVERY_SECONDS,
    job=purge_in_server,
    first_after=PURGE_EVERY_SECONDS,
    log=log,
    done="meter idempotency keys purged: %d",
    failed="purging meter idempotency keys failed",
)
