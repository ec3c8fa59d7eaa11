"""0005 -> 0006 -> 0005 -> 0006 on both databases: the leases table comes and goes, nothing else changes."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command

from licentia.server.store.engine import alembic_config, current_revision, database_urls, make_sync_engine, upgrade


def test_the_leases_migration_is_reversible(database_url):
    urls = database_urls(database_url)
    upgrade(urls, "0005")
    engine = make_sync_engine(urls)
    try:
        before = set(sa.inspect(engine).get_table_names())
        upgrade(urls, "0006")
        assert current_revision(urls) == "0006"
        inspector = sa.inspect(engine)
        assert set(inspector.get_table_names()) == before | {"leases"}
        assert {ix["name"] for ix in inspector.get_indexes("leases")} >= {"ix_leases_license_live"}
        command.downgrade(alembic_config(urls.sync), "0005")
        assert current_revision(urls) == "0005"
        assert set(sa.inspect(engine).get_table_names()) == before
        upgrade(urls, "0006")
        assert "leases" in sa.inspect(engine).get_table_names()
    finally:
        engine.dispose()
