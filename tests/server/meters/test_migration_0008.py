"""Migration 0008 (meter usage) goes up and down on both databases, keeping what was there before it."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command

from licentia.server.store.engine import alembic_config, current_revision, database_urls, make_sync_engine, upgrade


def test_meter_tables_come_and_go_and_come_back(settings):
    urls = database_urls(settings.resolved_database_url)
    upgrade(urls, "0005")
    engine = make_sync_engine(urls, pool_size=1)
    try:
        with engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO products (id, slug, name, collect_facts, facts_retention_days, notify, created_at)"
                    " VALUES (1, 'acme', 'Acme', false, 365, '{}', '2026-01-01 00:00:00')"
                )
            )
        upgrade(urls, "0008")
        assert current_revision(urls) == "0008"
        with engine.connect() as conn:
            tables = set(sa.inspect(conn).get_table_names())
        assert {"meter_usage", "meter_consumptions"} <= tables
        command.downgrade(alembic_config(urls.sync), "0005")
        assert current_revision(urls) == "0005"
        with engine.connect() as conn:
            tables = set(sa.inspect(conn).get_table_names())
            assert conn.execute(sa.text("SELECT slug FROM products")).scalar() == "acme"
        assert not {"meter_usage", "meter_consumptions"} & tables
        upgrade(urls, "0008")
        assert current_revision(urls) == "0008"
    finally:
        engine.dispose()
