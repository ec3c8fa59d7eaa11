"""Reverse host names for events, looked up off the request path.

A check never waits for DNS: events are written with the external IP only,
and a background task (one per worker, started by a startup hook) picks up
recent events missing ``server_facts.reverse_host``, resolves their addresses
with a timeout through a TTL cache, and fills the name in afterwards.
Workers may resolve the same event twice; the write is idempotent.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import logging
import socket
import time
from collections import OrderedDict
from typing import Any

import sqlalchemy as sa

from licentia.server.state import state_of
from licentia.server.store.engine import READ_ONLY
from licentia.server.store.tables import events

log = logging.getLogger("licentia.evidence")

BATCH = 100
IDLE_SECONDS = 2.0
# Only recent events are filled: older ones were written before this process
# started, and DNS answers about the past are not evidence of the past.
LOOKBACK = dt.timedelta(hours=1)


class ReverseResolver:
    """PTR lookups with a timeout, a bounded TTL cache and a cap on lookups in flight."""

    def __init__(
        self,
        *,
        timeout: float = 2.0,
        ttl: float = 3600.0,
        negative_ttl: float = 300.0,
        max_entries: int = 10_000,
        concurrency: int = 8,
    ) -> None:
        self.timeout = timeout
        self.ttl = ttl
        self.negative_ttl = negative_ttl
        self.max_entries = max_entries
        self._cache: OrderedDict[str, tuple[float, str | None]] = OrderedDict()
        self._slots = asyncio.Semaphore(concurrency)
        self._in_flight = 0

    async def lookup(self, address: str) -> str | None:
        now = time.monotonic()
        cached = self._cache.get(address)
        if cached is not None and cached[0] > now:
            return cached[1]
        host = await self._resolve(address)
        self._cache[address] = (now + (self.ttl if host else self.negative_ttl), host)
        self._cache.move_to_end(address)
        while len(self._cache) > self.max_entries:
            self._cache.popitem(last=False)
        return host

    @property
    def in_flight(self) -> int:
        """Lookups started and not yet ended (abandoned ones included)."""
        return self._in_flight

    async def _resolve(self, address: str) -> str | None:
        try:
            ipaddress.ip_address(address)
        except ValueError:
            return None
        try:
            # The timeout covers waiting for a slot too: when every slot is held by a
            # lookup the DNS server left hanging, the next caller gives up in time.
            async with asyncio.timeout(self.timeout):
                await self._slots.acquire()
                self._in_flight += 1
                lookup = asyncio.ensure_future(asyncio.get_running_loop().getnameinfo((address, 0), socket.NI_NAMEREQD))
                lookup.add_done_callback(self._ended)
                # Never cancel the lookup itself: uvloop completes it from a libuv
                # callback that does not check for cancellation, so a lookup cancelled
                # by its timeout raised InvalidStateError into the event loop's
                # exception handler (a logged traceback per slow address). A timeout
                # stops the waiting; the lookup ends on its own, holding its slot
                # until then, so the cap on lookups in flight stays true.
                host, _port = await asyncio.shield(lookup)
        except (OSError, TimeoutError, UnicodeError):
            return None
        return host or None

    def _ended(self, lookup: asyncio.Future[tuple[str, str]]) -> None:
        self._in_flight -= 1
        self._slots.release()
        if not lookup.cancelled():
            # Retrieved here, so an abandoned lookup's failure is not logged as "never retrieved".
            lookup.exception()


def _is_address(value: Any) -> bool:
    try:
        ipaddress.ip_address(str(value))
    except ValueError:
        return False
    return True


async def fill_once(app: Any, resolver: ReverseResolver, after_id: int | None) -> tuple[int | None, int]:
    """Resolve one batch of events newer than ``after_id``; return (new watermark, events scanned)."""
    state = state_of(app)
    query = sa.select(events.c.id, events.c.received_at, events.c.server_facts).order_by(events.c.id).limit(BATCH)
    if after_id is None:
        query = query.where(events.c.received_at >= state.clock.now() - LOOKBACK)
    else:
        query = query.where(events.c.id > after_id)
    async with state.async_engine.connect() as conn:
        reader = await conn.execution_options(**{READ_ONLY: True})
        rows = (await reader.execute(query)).all()
    if not rows:
        return after_id, 0
    pending = [
        ((r.id, r.received_at), r.server_facts)
        for r in rows
        if r.server_facts and "reverse_host" not in r.server_facts and _is_address(r.server_facts.get("external_ip"))
    ]
    names = await asyncio.gather(*(resolver.lookup(str(sf["external_ip"])) for _id, sf in pending))
    updates = [(key, {**sf, "reverse_host": name}) for (key, sf), name in zip(pending, names, strict=True)]

    def job(conn: sa.Connection) -> None:
        for (event_id, received_at), facts in updates:
            # The receive time too: PostgreSQL then reads only the event's month (events are partitioned).
            row = (events.c.id == event_id) & (events.c.received_at == received_at)
            conn.execute(events.update().where(row).values(server_facts=facts))

    if updates:
        # Through the writer: on SQLite a second writing connection would fight it for the lock.
        await state.writer.run(job)
    return rows[-1].id, len(rows)


async def run_forever(app: Any, resolver: ReverseResolver) -> None:
    watermark: int | None = None
    while True:
        try:
            watermark, scanned = await fill_once(app, resolver, watermark)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("reverse host lookup batch failed: %s", type(exc).__name__)
            await asyncio.sleep(IDLE_SECONDS * 5)
            continue
        await asyncio.sleep(0 if scanned == BATCH else IDLE_SECONDS)


async def start(app: Any) -> asyncio.Task[None] | None:
    if not state_of(app).settings.reverse_dns:
        return None
    resolver = ReverseResolver()
    return asyncio.create_task(run_forever(app, resolver), name="licentia-reverse-dns")
