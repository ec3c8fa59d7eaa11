"""PostgreSQL batches await their round trips on the event loop: a stuck batch holds up only its own jobs."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from licentia.server.app import create_app
from licentia.server.store import writer as writer_module
from licentia.server.store.engine import DatabaseUrls, database_urls, make_sync_engine
from licentia.server.store.writer import StoreUnavailable, Writer
from tests.conftest import START
from tests.server.helpers import Installation
from tests.server.store.test_writer import insert, rate_limits

WAIT = 30.0


def test_a_check_waiting_on_a_locked_row_holds_up_nothing_else(migrated, product, clock):
    admin = make_sync_engine(database_urls(migrated.resolved_database_url))
    if admin.dialect.name == "sqlite":
        admin.dispose()
        pytest.skip("SQLite batches run synchronously on the loop and never wait for its lock")
    try:
        with TestClient(create_app(migrated, clock=clock)) as client:
            stuck = Installation(client, product.public_key, machine="s1", disk="s2", cpu="s3", mac="s4")
            other = Installation(client, product.public_key, machine="o1", disk="o2", cpu="o3", mac="o4")
            stuck.check()
            other.check()
            answers: list[str] = []
            with admin.begin() as locker:
                # The vendor's transaction (or a slow statement) holds the installation's row.
                locker.execute(
                    sa.text("SELECT id FROM devices WHERE id = :id FOR UPDATE"), {"id": stuck.credential["device"]}
                )
                waiting = threading.Thread(target=lambda: answers.append(stuck.check()["status"]), daemon=True)
                waiting.start()
                waiting.join(1.0)
                assert waiting.is_alive()  # its batch waits for the row
                # Meanwhile the process answers everything else: health checks and other checks.
                assert client.get("/healthz").status_code == 200
                assert other.check()["status"] == "trial"
                assert client.get("/readyz").status_code == 200
                assert waiting.is_alive() and not answers
            # The lock is gone: the waiting check is answered, nothing lost.
            waiting.join(WAIT)
            assert answers == ["trial"]
            assert stuck.check()["status"] == "trial"
    finally:
        admin.dispose()


def postgresql_only(migrated) -> DatabaseUrls:
    urls = database_urls(migrated.resolved_database_url)
    if urls.is_sqlite:
        pytest.skip("SQLite batches run synchronously: none is under way when closing begins")
    return urls


def engine_with_held_row(urls: DatabaseUrls) -> sa.Engine:
    """An engine of the test's own, and the row ``bump`` updates (a test holds it locked)."""
    admin = make_sync_engine(urls)
    with admin.begin() as conn:
        conn.execute(rate_limits.insert().values(bucket="held", window_start=START, count=0))
    return admin


def bump(conn: sa.Connection) -> str:
    conn.execute(rate_limits.update().where(rate_limits.c.bucket == "held").values(count=rate_limits.c.count + 1))
    return "bumped"


def test_closing_finishes_the_batch_under_way_and_starts_no_other(migrated):
    """Jobs left waiting when the server stops are refused, never run on a connection nobody closes."""
    urls = postgresql_only(migrated)
    admin = engine_with_held_row(urls)

    async def main():
        async with asyncio.timeout(WAIT):
            return await closed_while_busy()

    async def closed_while_busy():
        writer = Writer(urls)
        locker = admin.connect()
        locker.begin()
        locker.execute(sa.text("SELECT * FROM rate_limits WHERE bucket = 'held' FOR UPDATE"))
        # A batch of two waits for the row; one job more waits for a batch of its own.
        under_way = [asyncio.ensure_future(writer.run(bump)) for _ in range(2)]
        await asyncio.sleep(0.3)
        late = asyncio.ensure_future(writer.run(insert("late")))
        await asyncio.sleep(0.3)
        closing = asyncio.ensure_future(writer.close())
        await asyncio.sleep(0.3)
        locker.rollback()
        locker.close()
        await closing
        results = await asyncio.gather(*under_way, late, return_exceptions=True)
        with pytest.raises(StoreUnavailable):
            await writer.run(insert("after"))
        return results, asyncio.all_tasks() - {asyncio.current_task()}

    try:
        (first, second, late), left = asyncio.run(main())
        assert (first, second) == ("bumped", "bumped")  # the batch under way committed
        assert isinstance(late, StoreUnavailable)  # the waiting job was refused, not run
        assert not left
        with admin.connect() as conn:
            assert conn.execute(sa.select(rate_limits.c.count).where(rate_limits.c.bucket == "held")).scalar() == 2
            assert "late" not in set(conn.execute(sa.select(rate_limits.c.bucket)).scalars())
        others = "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        admin.dispose()  # its pooled connections are not the writer's
        with admin.connect() as conn:
            assert conn.execute(sa.text(others)).scalar() == 0  # the writer left no connection open
    finally:
        admin.dispose()


def test_a_batch_stuck_past_the_closing_patience_is_cancelled_and_answered(migrated, monkeypatch):
    """A batch waiting on a lock does not hold the shutdown forever: its callers hear it failed, nothing is written."""
    urls = postgresql_only(migrated)
    monkeypatch.setattr(writer_module, "_CLOSE_PATIENCE", 0.5)
    admin = engine_with_held_row(urls)

    async def main():
        async with asyncio.timeout(WAIT):
            writer = Writer(urls)
            with admin.connect() as locker, locker.begin():
                # The vendor's transaction holds the row for longer than the shutdown waits.
                locker.execute(sa.text("SELECT * FROM rate_limits WHERE bucket = 'held' FOR UPDATE"))
                stuck = [asyncio.ensure_future(writer.run(bump)) for _ in range(2)]
                await asyncio.sleep(0.3)
                started = time.monotonic()
                await writer.close()  # waits its patience, then cancels the batch
                took = time.monotonic() - started
                results = await asyncio.gather(*stuck, return_exceptions=True)
                locker.rollback()
            return took, results

    try:
        took, results = asyncio.run(main())
        assert took < WAIT / 2  # the patience, the cancellation: not the lock's whole life
        assert [type(result) for result in results] == [StoreUnavailable, StoreUnavailable]
        others = "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        admin.dispose()
        deadline = time.monotonic() + WAIT
        with admin.connect() as conn:
            # The abandoned connection is closed; its server process ends with it.
            while conn.execute(sa.text(others)).scalar() and time.monotonic() < deadline:
                time.sleep(0.1)
            assert conn.execute(sa.text(others)).scalar() == 0
            assert conn.execute(sa.select(rate_limits.c.count).where(rate_limits.c.bucket == "held")).scalar() == 0
    finally:
        admin.dispose()
