"""Migration 0012 (licenses.key_sealed) goes up and down on both databases, keeping the licenses it finds."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command
from cryptography.fernet import Fernet

from licentia.core.licensekeys import generate_key, key_hash, key_prefix, masked
from licentia.server.notify.sealing import open_value, seal
from licentia.server.products.service import create_product
from licentia.server.store.engine import alembic_config, current_revision, database_urls, make_sync_engine, upgrade
from licentia.server.store.tables import outbox
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


def test_keys_whose_first_email_still_waits_are_kept_by_the_upgrade(settings, monkeypatch):
    """With SMTP unset (the default) every key email waits, sealed: the upgrade keeps those keys for resending."""
    fernet = settings.fernet()
    monkeypatch.setenv("LICENTIA_SECRET_KEY", settings.secret_key.get_secret_value())
    urls = database_urls(settings.resolved_database_url)
    upgrade(urls, "0011")
    engine = make_sync_engine(urls, pool_size=1)
    keys = {n: generate_key() for n in (1, 2, 3, 4)}
    # 1: its email waits, sealed; 2: waits in clear (queued by a release before sealing);
    # 3: its email was sent (the key is gone); 4: waits, sealed with another server's key.
    emails = {
        1: seal(_email(keys[1]), {keys[1]: masked(keys[1])}, fernet),
        2: {**_email(keys[2]), "redact": {keys[2]: masked(keys[2])}},
        3: _email(masked(keys[3])),
        4: seal(_email(keys[4]), {keys[4]: masked(keys[4])}, Fernet(Fernet.generate_key())),
    }
    try:
        with engine.begin() as conn:
            create_product(conn, slug="acme", name="Acme", fernet=fernet, now=START)
            product = conn.execute(sa.text("SELECT id FROM products")).scalar_one()
            policy = conn.execute(sa.text("SELECT id FROM policies")).scalar_one()
            for n, key in keys.items():
                conn.execute(
                    sa.text(
                        "INSERT INTO licenses (id, product_id, key_prefix, key_hash, state, features, policy_id,"
                        " policy_overrides, created_at, updated_at) VALUES (:id, :product, :prefix, :hash, 'active',"
                        " '[]', :policy, '{}', '2026-01-02 00:00:00', '2026-01-02 00:00:00')"
                    ),
                    {"id": n, "product": product, "prefix": key_prefix(key), "hash": key_hash(key), "policy": policy},
                )
                conn.execute(
                    outbox.insert().values(
                        channel="email",
                        topic="license",
                        payload=emails[n],
                        dedupe_key=f"license-key:{n}",
                        created_at=START,
                        next_attempt_at=START,
                        attempts=0,
                        sent_at=START if n == 3 else None,
                    )
                )
        upgrade(urls, "0012")
        with engine.connect() as conn:
            kept = dict(conn.execute(sa.text("SELECT id, key_sealed FROM licenses")).all())
        assert open_value(kept[1], fernet, what="key") == keys[1]
        assert open_value(kept[2], fernet, what="key") == keys[2]
        assert kept[3] is None and kept[4] is None
        assert all(key not in str(kept.values()) for key in keys.values())
    finally:
        engine.dispose()


def _email(text: str) -> dict[str, object]:
    return {"to": ["c@example.com"], "subject": "Your license key", "text": f"Key: {text}", "html": f"<p>{text}</p>"}
