"""The group-commit writer: answered means committed, and one bad job spoils nothing else."""

from __future__ import annotations

import asyncio

import pytest
import sqlalchemy as sa

from licentia.server.store.engine import database_urls, make_sync_engine
from licentia.server.store.models import RateLimit, table_of
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


@pytest.mark.parametrize("inline", [True, False])
def test_a_failing_job_spoils_none_of_its_batch(migrated, inline):
    urls = database_urls(migrated.resolved_database_url)
    if inline and not urls.is_sqlite:
        pytest.skip("inline batching is SQLite's")
    engine = make_sync_engine(urls)
    writer = Writer(engine, inline=inline)
    writer.start()

    async def main():
        jobs = [insert(f"b{i}") for i in range(10)]
        jobs.insert(5, failing)
        return await asyncio.gather(*(writer.run(job) for job in jobs), return_exceptions=True)

    try:
        results = asyncio.run(main())
    finally:
        writer.stop()
    assert isinstance(results[5], ValueError)
    assert [r for i, r in enumerate(results) if i != 5] == [f"b{i}" for i in range(10)]
    assert stored(engine) == {f"b{i}" for i in range(10)}  # answered means committed; "doomed" rolled back
    engine.dispose()


def test_a_database_error_answers_store_unavailable(migrated):
    urls = database_urls(migrated.resolved_database_url)
    engine = make_sync_engine(urls)
    writer = Writer(engine, inline=urls.is_sqlite)
    writer.start()

    def broken(conn: sa.Connection) -> None:
        conn.execute(sa.text("SELECT * FROM no_such_table"))

    async def main():
        return await asyncio.gather(writer.run(broken), writer.run(insert("fine")), return_exceptions=True)

    try:
        results = asyncio.run(main())
    finally:
        writer.stop()
    assert isinstance(results[0], StoreUnavailable) and results[1] == "fine"
    assert stored(engine) == {"fine"}
    engine.dispose()
