"""Migration 0007 (air-gapped activations) goes up and down on SQLite and PostgreSQL, keeping the rest."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command

from licentia.server.store.engine import alembic_config, current_revision, database_urls, make_sync_engine, upgrade


def test_0007_adds_the_table_and_downgrades_cleanly(settings) -> None:
    urls = database_urls(settings.resolved_database_url)
    upgrade(urls, "0005")
    engine = make_sync_engine(urls, pool_size=1)
    try:
        with engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO products (slug, name, created_at, collect_facts, facts_retention_days, notify)"
                    " VALUES ('kept', 'Kept', '2026-01-01 00:00:00', false, 365, '{}')"
                )
            )
        upgrade(urls, "0007")
        assert current_revision(urls) == "0007"
        assert "offline_activations" in sa.inspect(engine).get_table_names()
        with engine.begin() as conn:  # the nonce is unique: a request is answered once
            columns = {c["name"] for c in sa.inspect(conn).get_columns("offline_activations")}
            assert {"request_nonce", "proof_key", "lease_until", "deactivated_at"} <= columns
        command.downgrade(alembic_config(urls.sync), "0005")
        engine.dispose()
        assert current_revision(urls) == "0005"
        assert "offline_activations" not in sa.inspect(engine).get_table_names()
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT slug FROM products")).scalars().all() == ["kept"]
        upgrade(urls, "0007")
        assert current_revision(urls) == "0007"
    finally:
        engine.dispose()
