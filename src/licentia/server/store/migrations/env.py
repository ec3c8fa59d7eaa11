"""Alembic environment: runs migrations on a sync connection to the configured database."""

from __future__ import annotations

from alembic import context

# The model modules beside models.py (payments, customers, tickets, trail, users, organisations, single sign-on)
# register their tables on Base.metadata when imported: tables imports every one of them.
from licentia.server.store import tables  # noqa: F401
from licentia.server.store.engine import DatabaseUrls, make_sync_engine
from licentia.server.store.models import Base, compared_with_database

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    url = config.get_main_option("sqlalchemy.url") or ""
    engine = make_sync_engine(DatabaseUrls(sync=url, async_=url), pool_size=1)
    try:
        with engine.connect() as connection:
            context.configure(
                connection=connection,
                target_metadata=target_metadata,
                render_as_batch=connection.dialect.name == "sqlite",
                compare_type=True,
                include_object=compared_with_database,
            )
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


run_migrations_online()
