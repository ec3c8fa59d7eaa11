"""Migrations from empty to head produce exactly the schema the models describe."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from licentia.server.store.engine import current_revision, database_urls, make_sync_engine, upgrade
from licentia.server.store.models import Base


def test_migrations_match_models(settings):
    urls = database_urls(settings.resolved_database_url)
    upgrade(urls)
    engine = make_sync_engine(urls, pool_size=1)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            diff = compare_metadata(context, Base.metadata)
    finally:
        engine.dispose()
    assert diff == [], f"run scripts/regen-initial-migration: {diff}"
    assert current_revision(urls) == "0001"


def test_upgrade_is_idempotent(settings):
    urls = database_urls(settings.resolved_database_url)
    upgrade(urls)
    upgrade(urls)
    assert current_revision(urls) == "0001"
