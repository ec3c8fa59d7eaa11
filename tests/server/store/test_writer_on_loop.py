"""PostgreSQL batches await their round trips on the event loop: a stuck batch holds up only its own jobs."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from licentia.server.app import create_app
from licentia.server.store.engine import database_urls, make_sync_engine
from tests.server.helpers import Installation

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
