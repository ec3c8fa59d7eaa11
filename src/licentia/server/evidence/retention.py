"""Retention: facts older than the product's retention are blanked, events older than the server's go.

The event itself stays (a count of installs is not personal data); what it
said about the person and the machine goes: ``client_facts``, ``server_facts``
(external IP, reverse host), the other side's facts copied into clone events,
and the facts stored on devices not seen within the retention. A proxy-log
trail row (``trail_requests``) is nothing but facts: it goes whole, with the
facts' retention, and with the events' retention when that is shorter. So does
a post kept apart by test mode (``test_posts``), with its product's facts.
Each step works in chunks so a first purge of a large history never holds a
long transaction (on SQLite that would stall every status check).

Events themselves are kept forever unless ``event_retention_days`` is set. On
PostgreSQL they are partitioned by month (``store.partitions``) and old
months are dropped whole, which costs nothing however many rows they hold; on
SQLite old rows are deleted in chunks. The same job keeps PostgreSQL's
partitions created ahead of time. Daily rollups are not touched: a dashboard
keeps its history after the events behind it are gone.
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
from licentia.server.store import partitions
from licentia.server.store.tables import devices, events, products, test_posts, trail_requests

log = logging.getLogger("licentia.evidence")

CHUNK = 2000
PURGE_EVERY = dt.timedelta(hours=6)
FIRST_PURGE_AFTER_SECONDS = 60.0
# The rollups of yesterday and today read 30 days of check events back (rollups.service):
# a shorter event retention would starve the active-device counts.
MIN_EVENT_RETENTION_DAYS = 40


@dataclass
class Purged:
    events: int = 0
    devices: int = 0
    trails: int = 0
    test_posts: int = 0

    def add(self, other: Purged) -> None:
        self.events += other.events
        self.devices += other.devices
        self.trails += other.trails
        self.test_posts += other.test_posts

    def more(self) -> bool:
        """Whether a chunk was full: another may find more."""
        return max(self.events, self.devices, self.trails, self.test_posts) >= CHUNK


@dataclass
class Dropped:
    """What event retention removed: whole month partitions (PostgreSQL) or rows (SQLite)."""

    partitions: list[str]
    rows: int = 0


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
    # ``received_at < cutoff`` again on the writes: on PostgreSQL it keeps them to the old months.
    chosen = sa.and_(events.c.id.in_(ids), events.c.received_at < cutoff)
    done = Purged()
    # Clone events also carry the other side's facts inside ``data``.
    for row in conn.execute(
        sa.select(events.c.id, events.c.data).where(chosen, events.c.kind == EventKind.CLONE_SUSPECTED)
    ).all():
        data = {k: v for k, v in (row.data or {}).items() if k != "other_side"}
        conn.execute(events.update().where(events.c.id == row.id, events.c.received_at < cutoff).values(data=data))
    done.events = conn.execute(events.update().where(chosen).values(client_facts={}, server_facts={})).rowcount
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
    done.trails = _delete_trails(conn, cutoff, product_id=product_id)
    old_tests = sa.select(test_posts.c.id).where(
        test_posts.c.product_id == product_id, test_posts.c.received_at < cutoff
    )
    chunk = old_tests.limit(CHUNK).scalar_subquery()
    done.test_posts = int(conn.execute(test_posts.delete().where(test_posts.c.id.in_(chunk))).rowcount)
    return done


def _delete_trails(conn: sa.Connection, cutoff: dt.datetime, *, product_id: int | None = None) -> int:
    """Delete at most ``CHUNK`` trail rows received before ``cutoff`` (of one product, or of all)."""
    old = trail_requests.c.received_at < cutoff
    if product_id is not None:
        old = sa.and_(old, trail_requests.c.product_id == product_id)
    ids = sa.select(trail_requests.c.id).where(old).limit(CHUNK).scalar_subquery()
    return int(conn.execute(trail_requests.delete().where(trail_requests.c.id.in_(ids))).rowcount)


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
            if not done.more():
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
            if not done.more():
                break
    return total


def event_cutoff(now: dt.datetime, retention_days: int) -> dt.datetime | None:
    """Events received before this instant go; None while events are kept forever."""
    if retention_days <= 0:
        return None
    if retention_days < MIN_EVENT_RETENTION_DAYS:
        log.warning("event retention of %d days raised to %d", retention_days, MIN_EVENT_RETENTION_DAYS)
    return now - dt.timedelta(days=max(retention_days, MIN_EVENT_RETENTION_DAYS))


def drop_events_chunk(conn: sa.Connection, *, cutoff: dt.datetime) -> Dropped:
    """PostgreSQL: drop the months entirely before ``cutoff``. SQLite: delete up to ``CHUNK`` rows a product.

    Trail rows before ``cutoff`` go too, up to ``CHUNK`` (counted in ``rows``).
    """
    removed = _delete_trails(conn, cutoff)
    if partitions.is_partitioned(conn):
        return Dropped(partitions.drop_before(conn, cutoff), removed)
    for product_id in conn.execute(sa.select(products.c.id)).scalars():
        # Per product, so the (product_id, received_at) index finds the old rows.
        ids = (
            sa.select(events.c.id)
            .where(events.c.product_id == product_id, events.c.received_at < cutoff)
            .limit(CHUNK)
            .scalar_subquery()
        )
        removed += conn.execute(events.delete().where(events.c.id.in_(ids))).rowcount
    return Dropped([], removed)


def drop_old_events(engine: sa.Engine, *, now: dt.datetime, retention_days: int) -> Dropped:
    """Apply the event retention, one transaction per chunk (CLI, tests)."""
    total = Dropped([])
    cutoff = event_cutoff(now, retention_days)
    while cutoff is not None:
        with engine.begin() as conn:
            done = drop_events_chunk(conn, cutoff=cutoff)
        total.partitions += done.partitions
        total.rows += done.rows
        if done.rows < CHUNK:
            break
    return total


async def maintain_events(app: Any) -> Dropped:
    """Partitions ahead of time, then the event retention, inside a running server."""
    from licentia.server.state import state_of

    state = state_of(app)
    now = state.clock.now()
    total = Dropped([])
    if state.async_engine.dialect.name == "postgresql":
        # DDL on a connection of its own: the writer's batches stay short.
        async with state.async_engine.begin() as conn:
            created = await conn.run_sync(partitions.ensure_ahead, now)
        if created:
            log.info("event partitions created: %s", ", ".join(created))
    cutoff = event_cutoff(now, state.settings.event_retention_days)
    while cutoff is not None:
        if state.async_engine.dialect.name == "postgresql":
            async with state.async_engine.begin() as conn:
                done = await conn.run_sync(lambda sync_conn: drop_events_chunk(sync_conn, cutoff=cutoff))
        else:
            done = await state.writer.run(functools.partial(drop_events_chunk, cutoff=cutoff))
        total.partitions += done.partitions
        total.rows += done.rows
        if done.rows < CHUNK:
            break
    if total.partitions or total.rows:
        log.info("events past retention dropped: %d months, %d rows", len(total.partitions), total.rows)
    return total


async def run_forever(app: Any) -> None:
    first = True
    while True:
        try:
            # At start at once: a process must never be the one whose month has no partition.
            await maintain_events(app)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("event maintenance failed: %s", type(exc).__name__)
        if first:
            await asyncio.sleep(FIRST_PURGE_AFTER_SECONDS)
            first = False
        try:
            done = await purge_in_server(app)
            if done.events or done.devices or done.trails or done.test_posts:
                log.info(
                    "facts purged: %d events, %d devices, %d trail rows, %d test posts",
                    done.events, done.devices, done.trails, done.test_posts,
                )  # fmt: skip
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("facts purge failed: %s", type(exc).__name__)
        await asyncio.sleep(PURGE_EVERY.total_seconds())


async def start(app: Any) -> asyncio.Task[None]:
    return asyncio.create_task(run_forever(app), name="licentia-facts-purge")
