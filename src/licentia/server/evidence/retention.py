"""Fact retention: client and server facts older than the product's retention are blanked.

The event itself stays (a count of installs is not personal data); what it
said about the person and the machine goes: ``client_facts``, ``server_facts``
(external IP, reverse host), the other side's facts copied into clone events,
and the facts stored on devices not seen within the retention.
Each step works in chunks so a first purge of a large history never holds a
long transaction (on SQLite that would stall every status check).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import logging
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from licentia.core.vocabulary import EventKind
from licentia.server.store.models import Device, Event, Product, table_of

log = logging.getLogger("licentia.evidence")
events = table_of(Event)
devices = table_of(Device)
products = table_of(Product)

CHUNK = 2000
PURGE_EVERY = dt.timedelta(hours=6)
FIRST_PURGE_AFTER_SECONDS = 60.0


@dataclass
class Purged:
    events: int = 0
    devices: int = 0

    def add(self, other: Purged) -> None:
        self.events += other.events
        self.devices += other.devices


def _not_blank(column: Any) -> Any:
    # JSON is text on SQLite and jsonb on PostgreSQL; both print an empty object as "{}".
    return sa.cast(column, sa.Text) != "{}"


def cutoffs(conn: sa.Connection, now: dt.datetime, product: str | None = None) -> list[tuple[int, dt.datetime]]:
    query = sa.select(products.c.id, products.c.facts_retention_days)
    if product is not None:
        query = query.where(products.c.slug == product)
    return [(int(r.id), now - dt.timedelta(days=max(int(r.facts_retention_days), 0))) for r in conn.execute(query)]


def purge_chunk(conn: sa.Connection, *, product_id: int, cutoff: dt.datetime) -> Purged:
    """Blank at most ``CHUNK`` events and ``CHUNK`` devices; call again until it returns zeros."""
    old = sa.and_(events.c.product_id == product_id, events.c.received_at < cutoff)
    ids = (
        sa.select(events.c.id)
        .where(old, sa.or_(_not_blank(events.c.client_facts), _not_blank(events.c.server_facts)))
        .limit(CHUNK)
        .scalar_subquery()
    )
    done = Purged()
    # Clone events also carry the other side's facts inside ``data``.
    for row in conn.execute(
        sa.select(events.c.id, events.c.data).where(events.c.id.in_(ids), events.c.kind == EventKind.CLONE_SUSPECTED)
    ).all():
        data = {k: v for k, v in (row.data or {}).items() if k != "other_side"}
        conn.execute(events.update().where(events.c.id == row.id).values(data=data))
    done.events = conn.execute(
        events.update().where(events.c.id.in_(ids)).values(client_facts={}, server_facts={})
    ).rowcount
    device_ids = (
        sa.select(devices.c.id)
        .where(
            devices.c.product_id == product_id,
            devices.c.seen_day <= cutoff.astimezone(dt.UTC).date(),  # the indexed day narrows, the instant decides
            devices.c.last_seen < cutoff,
            _not_blank(devices.c.facts),
        )
        .limit(CHUNK)
        .scalar_subquery()
    )
    done.devices = conn.execute(devices.update().where(devices.c.id.in_(device_ids)).values(facts={})).rowcount
    return done


def purge_facts(engine: sa.Engine, *, now: dt.datetime, product: str | None = None) -> Purged:
    """Blank every fact older than its product's retention, one transaction per chunk (CLI, tests)."""
    total = Purged()
    with engine.connect() as conn:
        targets = cutoffs(conn, now, product)
    for product_id, cutoff in targets:
        while True:
            with engine.begin() as conn:
                done = purge_chunk(conn, product_id=product_id, cutoff=cutoff)
            total.add(done)
            if done.events < CHUNK and done.devices < CHUNK:
                break
    return total


async def purge_in_server(app: Any) -> Purged:
    """The same purge inside a running server, each chunk as a writer job between status checks."""
    from licentia.server.state import state_of  # the CLI's purge loads no web framework

    state = state_of(app)
    now = state.clock.now()
    total = Purged()
    targets = await state.writer.run(functools.partial(cutoffs, now=now))
    for product_id, cutoff in targets:
        while True:
            done = await state.writer.run(functools.partial(purge_chunk, product_id=product_id, cutoff=cutoff))
            total.add(done)
            if done.events < CHUNK and done.devices < CHUNK:
                break
    return total


async def run_forever(app: Any) -> None:
    await asyncio.sleep(FIRST_PURGE_AFTER_SECONDS)
    while True:
        try:
            done = await purge_in_server(app)
            if done.events or done.devices:
                log.info("facts purged: %d events, %d devices", done.events, done.devices)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("facts purge failed: %s", type(exc).__name__)
        await asyncio.sleep(PURGE_EVERY.total_seconds())


async def start(app: Any) -> asyncio.Task[None]:
    return asyncio.create_task(run_forever(app), name="licentia-facts-purge")
