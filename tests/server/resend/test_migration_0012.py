"""Migration 0012 (licenses.key_sealed) goes up and down on both databases, keeping the licenses it finds."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command

from licentia.server.products.service import create_product
from licentia.server.store.engine import alembic_config, current_revision, database_urls, make_sync_engine, upgrade
from tests.conftest import START


def columns(engine: sa.Engine) -> set[str]:
    with engine.connect() as conn:
        return {column["name"] for column in sa.inspect(conn).get_columns("licenses")}


def test_old_licenses_keep_everything_and_get_no_sealed_key_and_back(settings):
    urls = database_urls(settings.resolved_database_url)
    upgrade(urls, "0011")
    engine = make_sync_engine(urls, pool_size=1)
    try:
        with engine.begin() as conn:
            # Products and license types are the same before and after 0012: the service makes them.
            create_product(conn, slug="acme", name="Acme", fernet=settings.fernet(), now=START)
            policy = conn.execute(sa.text("SELECT id FROM policies")).scalar_one()
            product = conn.execute(sa.text("SELECT id FROM products")).scalar_one()
            conn.execute(
                sa.text(
                    "INSERT INTO licenses (id, product_id, key_prefix, key_hash, state, features, policy_id,"
                    " policy_overrides, created_at, updated_at) VALUES (7, :product, 'ABCDE', 'h7', 'active', '[]',"
                    " :policy, '{}', '2026-01-02 00:00:00', '2026-01-02 00:00:00')"
                ),
                {"policy": policy, "product": product},
            )
        assert "key_sealed" not in columns(engine)

        upgrade(urls, "0012")
        assert current_revision(urls) == "0012" and "key_sealed" in columns(engine)
        with engine.begin() as conn:
            # An old license has no kept key (only its hash ever existed); a new one may.
            assert conn.execute(sa.text("SELECT key_sealed FROM licenses WHERE id = 7")).scalar() is None
            conn.execute(
                sa.text(
                    "INSERT INTO licenses (id, product_id, key_prefix, key_hash, key_sealed, state, features,"
                    " policy_id, policy_overrides, created_at, updated_at) VALUES (8, :product, 'FGHJK', 'h8',"
                    " 'sealed:v1:token', 'active', '[]', :policy, '{}', '2026-02-01 00:00:00', '2026-02-01 00:00:00')"
                ),
                {"policy": policy, "product": product},
            )

        command.downgrade(alembic_config(urls.sync), "0011")
        assert current_revision(urls) == "0011" and "key_sealed" not in columns(engine)
        with engine.connect() as conn:
            kept = conn.execute(sa.text("SELECT id, key_prefix, key_hash, state FROM licenses ORDER BY id")).all()
        assert [tuple(row) for row in kept] == [(7, "ABCDE", "h7", "active"), (8, "FGHJK", "h8", "active")]

        upgrade(urls)
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM licenses WHERE key_sealed IS NULL")).scalar() == 2
    finally:
        engine.dispose()
