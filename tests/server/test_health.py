"""/healthz says the process is alive; /readyz that it may take traffic (database up, migrations current)."""

from __future__ import annotations

from alembic import command

from licentia.server.store.engine import alembic_config, database_urls
from licentia.server.store.snapshot import head_revision


def test_ready_while_the_database_holds_every_migration(client, migrated):
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json() == {"status": "ready", "revision": head_revision()}
    # A host whose database lacks a migration this code needs (a deploy half done) takes no traffic.
    command.downgrade(alembic_config(database_urls(migrated.resolved_database_url).sync), "0002")
    waiting = client.get("/readyz")
    assert waiting.status_code == 503 and waiting.json()["error"]["code"] == "not_ready"
    assert "0002" in waiting.json()["error"]["message"]
    assert client.get("/healthz").status_code == 200  # alive all the same: not a reason to restart it
