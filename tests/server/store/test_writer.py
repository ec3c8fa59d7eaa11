"""The group-commit writer: answered means committed, and one bad job spoils nothing else."""

from __future__ import annotations

import asyncio
import subprocess
import sys

import pytest
import sqlalchemy as sa

from licentia.server.store.engine import database_urls, make_sync_engine
from licentia.server.store.models import RateLimit, table_of
from licentia.server.store.raw import Statement
from licentia.server.store.writer import StoreUnavailable, Writer
from tests.conftest import START

rate_limits = table_of(RateLimit)


def insert(bucket: str):
    def job(conn: sa.Connection) -> str:
        conn.execute(rate_limits.insert().values(bucket=bucket, window_start=START, count=1))
        return bucket

    return job


def failing(conn: sa.Connection) -> None:
    conn.execute(rate_limits.insert().values(bucket="doomed", window_start=START, count=1))
    raise ValueError("this job is broken")


def stored(engine) -> set[str]:
    with engine.connect() as conn:
        return set(conn.execute(sa.select(rate_limits.c.bucket)).scalars())


def test_a_failing_job_spoils_none_of_its_batch(migrated):
    urls = database_urls(migrated.resolved_database_url)
    engine = make_sync_engine(urls)

    async def main():
        writer = Writer(urls)
        jobs = [insert(f"b{i}") for i in range(10)]
        jobs.insert(5, failing)
        try:
            return await asyncio.gather(*(writer.run(job) for job in jobs), return_exceptions=True)
        finally:
            await writer.close()

    results = asyncio.run(main())
    assert isinstance(results[5], ValueError)
    assert [r for i, r in enumerate(results) if i != 5] == [f"b{i}" for i in range(10)]
    assert stored(engine) == {f"b{i}" for i in range(10)}  # answered means committed; "doomed" rolled back
    engine.dispose()


def test_a_database_error_answers_store_unavailable(migrated):
    urls = database_urls(migrated.resolved_database_url)
    engine = make_sync_engine(urls)

    def broken(conn: sa.Connection) -> None:
        conn.execute(sa.text("SELECT * FROM no_such_table"))

    async def main():
        writer = Writer(urls)
        try:
            return await asyncio.gather(writer.run(broken), writer.run(insert("fine")), return_exceptions=True)
        finally:
            await writer.close()

    results = asyncio.run(main())
    assert isinstance(results[0], StoreUnavailable) and results[1] == "fine"
    assert stored(engine) == {"fine"}
    engine.dispose()


def test_a_job_whose_first_statement_is_raw_is_one_transaction(migrated):
    """On PostgreSQL the batch's BEGIN travels with its first statement: what fails after it rolls it back."""
    urls = database_urls(migrated.resolved_database_url)
    engine = make_sync_engine(urls)
    insert_raw = Statement("INSERT INTO rate_limits (bucket, window_start, count) VALUES (:bucket, :start, 1)")

    def raw_then_broken(conn: sa.Connection) -> None:
        insert_raw.execute(conn, bucket="raw-doomed", start=START)
        conn.execute(rate_limits.insert().values(bucket="doomed", window_start=START, count=1))
        raise ValueError("this job is broken")

    def raw_only(conn: sa.Connection) -> str:
        insert_raw.execute(conn, bucket="raw-kept", start=START)
        return "kept"

    async def main():
        writer = Writer(urls)
        try:
            alone = await asyncio.gather(writer.run(raw_then_broken), return_exceptions=True)
            together = await asyncio.gather(writer.run(raw_only), writer.run(raw_then_broken), return_exceptions=True)
            return alone + together
        finally:
            await writer.close()

    failed_alone, kept, failed_with_neighbour = asyncio.run(main())
    assert isinstance(failed_alone, ValueError) and isinstance(failed_with_neighbour, ValueError)
    assert kept == "kept"
    assert stored(engine) == {"raw-kept"}
    engine.dispose()


def test_a_batch_that_meets_a_locked_database_waits_and_commits(migrated):
    """SQLite: another process holding the write lock delays the batch; it is never refused or lost."""
    urls = database_urls(migrated.resolved_database_url)
    if not urls.is_sqlite:
        pytest.skip("the write lock is SQLite's")
    engine = make_sync_engine(urls)
    # Another process's writer, in the middle of its transaction (a second worker, or `licentia` itself).
    with subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sqlite3, sys; c = sqlite3.connect(sys.argv[1], isolation_level=None);"
            " c.execute('BEGIN IMMEDIATE'); print('locked', flush=True); sys.stdin.readline(); c.rollback()",
            engine.url.database,
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    ) as holder:
        try:
            assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"

            async def main():
                writer = Writer(urls)
                try:
                    pending = asyncio.gather(*(writer.run(insert(f"w{i}")) for i in range(3)), return_exceptions=True)
                    await asyncio.sleep(0.3)
                    assert not pending.done()  # waiting for the lock, not failed at once
                    assert holder.stdin is not None
                    holder.stdin.write("\n")
                    holder.stdin.flush()
                    return await asyncio.wait_for(pending, 30)
                finally:
                    await writer.close()

            assert asyncio.run(main()) == ["w0", "w1", "w2"]
        finally:
            holder.kill()
    assert stored(engine) == {"w0", "w1", "w2"}
    engine.dispose()
