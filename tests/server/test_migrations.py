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


def test_readers_take_no_write_lock_on_sqlite(tmp_path):
    """A dashboard query must never hold up the status checks (SQLite's single writer)."""
    import sqlalchemy as sa

    from licentia.server.store.engine import READ_ONLY

    urls = database_urls(f"sqlite:///{tmp_path / 'x.db'}")
    upgrade(urls)
    reader_engine, writer_engine = make_sync_engine(urls, pool_size=1), make_sync_engine(urls, pool_size=1)
    try:
        with reader_engine.connect() as reader:
            reader = reader.execution_options(**{READ_ONLY: True})
            reader.execute(sa.text("SELECT count(*) FROM devices")).scalar_one()  # snapshot held open
            with writer_engine.connect() as writer:
                writer.connection.dbapi_connection.execute("PRAGMA busy_timeout=0")  # fail, don't wait
                with writer.begin():
                    writer.execute(sa.text("DELETE FROM rate_limits"))
            with reader_engine.connect() as plain:  # a connection without the option writes as usual
                assert plain.get_execution_options().get(READ_ONLY) is None
    finally:
        reader_engine.dispose()
        writer_engine.dispose()
