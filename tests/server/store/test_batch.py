"""Writer batches: rows read ahead and writes deferred to the batch's end lose nothing."""

from __future__ import annotations

import asyncio
import hashlib

import pytest
import sqlalchemy as sa

from licentia.server.devices.changes import set_device_status
from licentia.server.devices.service import Checker, CheckInput, read_ahead
from licentia.server.products.service import Keyring
from licentia.server.store.engine import database_urls, make_sync_engine
from licentia.server.store.models import Device, table_of
from licentia.server.store.writer import Writer
from tests.server.helpers import Installation, fingerprint

devices = table_of(Device)


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@pytest.fixture
def hot_path(migrated, product):
    """(engine to look with, a coroutine runner with a writer as the server makes it, checker)."""
    urls = database_urls(migrated.resolved_database_url)
    engine = make_sync_engine(urls)
    checker = Checker(Keyring(migrated.fernet()), product_ttl_seconds=0)

    def run(main):
        async def with_writer():
            writer = Writer(urls, read_ahead=read_ahead)
            try:
                return await main(writer)
            finally:
                await writer.close()

        return asyncio.run(with_writer())

    yield engine, run, checker
    engine.dispose()


def check_input(clock, credential=None) -> CheckInput:
    fp = fingerprint("acme")
    return CheckInput(
        product="acme",
        now=clock.now(),
        credential=credential,
        components=fp["components"],
        data_path=fp["data_path"],
    )


def stored(engine, device_id):
    with engine.connect() as conn:
        return conn.execute(sa.select(devices).where(devices.c.id == device_id)).one()


def test_checks_of_one_device_in_one_batch_are_all_applied_in_order(hot_path, clock):
    engine, run, checker = hot_path

    async def main(writer):
        first = await writer.run(lambda conn: checker.run(conn, check_input(clock)))
        credential = (first.credential["device"], first.credential["secret"])
        inp = check_input(clock, credential)
        outcomes = await asyncio.gather(
            *(writer.run(lambda conn: checker.run(conn, inp), read_ahead=credential[0]) for _ in range(12))
        )
        return credential[0], outcomes

    device_id, outcomes = run(main)
    assert all(o.error is None and o.document["status"] == "trial" for o in outcomes)
    row = stored(engine, device_id)
    assert row.usage_count == 13  # first contact and twelve checks: no update lost
    # Each check rotated the token the one before it handed out; the last one is live.
    assert row.token_hash == sha256(outcomes[-1].document["token"])
    assert row.prev_token_hash == sha256(outcomes[-2].document["token"])


def test_a_vendor_change_between_read_and_write_is_not_overwritten(migrated, product, clock, monkeypatch):
    """PostgreSQL: the vendor blocks a device just after a batch read its row ahead."""
    from fastapi.testclient import TestClient

    import licentia.server.app.factory as app_module
    from licentia.server.app import create_app

    admin = make_sync_engine(database_urls(migrated.resolved_database_url))
    if admin.dialect.name == "sqlite":
        admin.dispose()
        pytest.skip("SQLite batches hold the write lock from their first read: nobody writes in between")
    blocked: list[str] = []

    def read_then_vendor_blocks(conn, keys):
        rows = read_ahead(conn, keys)
        if keys and not blocked:
            try:
                with admin.begin() as other:
                    # This runs inside the writer: were the writer's other connection holding a lock the vendor
                    # needs (a start-up task making this month's event partition), waiting would hang both.
                    other.execute(sa.text("SET LOCAL lock_timeout = '2s'"))
                    set_device_status(
                        other, device_id=keys[0], status="blocked", reason="chargeback", actor="t", now=clock.now()
                    )
            except sa.exc.OperationalError:
                return rows  # the vendor tries again at the next batch
            blocked.append(keys[0])
        return rows

    monkeypatch.setattr(app_module, "read_ahead", read_then_vendor_blocks)
    try:
        with TestClient(create_app(migrated, clock=clock)) as client:
            installation = Installation(client, product.public_key)
            assert installation.check()["status"] == "trial"
            # The batch decided on the "trial" row it read; its write found the row
            # changed, and the check was decided again, on the blocked row.
            for _ in range(10):
                status = installation.check()["status"]
                if blocked:
                    break
                assert status == "trial"
            assert status == "blocked"
            assert blocked and stored(admin, blocked[0]).status == "blocked"
    finally:
        admin.dispose()
