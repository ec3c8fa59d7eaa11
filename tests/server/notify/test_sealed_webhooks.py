"""Migration 0009 seals the webhook secrets stored in clear, maps old topics to events, and goes back.

On SQLite and PostgreSQL. Without the server's key at upgrade time, the
secrets are sealed by the server's delivery worker when it starts.
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from alembic import command
from cryptography.fernet import Fernet

from licentia.server.notify.webhooks import SEALED_PREFIX, open_secret, seal_clear_secrets
from licentia.server.store.engine import alembic_config, database_urls, make_sync_engine, upgrade

CLEAR = "whsec_clear-secret-from-an-older-version"


def _at_0005_with_a_webhook(settings: Any) -> tuple[Any, Any]:
    urls = database_urls(settings.resolved_database_url)
    upgrade(urls, "0005")
    engine = make_sync_engine(urls, pool_size=1)
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO webhooks (url, secret, topics, active, created_at)"
                " VALUES ('https://h.example/in', :secret, :topics, true, '2026-01-01 00:00:00')"
            ),
            {"secret": CLEAR, "topics": json.dumps(["install", "piracy"])},
        )
        conn.execute(
            sa.text(
                "INSERT INTO outbox (channel, topic, payload, created_at, next_attempt_at, attempts)"
                " VALUES ('webhook', 'install', :payload, '2026-01-01 00:00:00', '2026-01-01 00:00:00', 1)"
            ),
            {"payload": json.dumps({"webhook_id": 1, "url": "https://h.example/in", "topic": "install", "data": {}})},
        )
    return urls, engine


def _webhook(engine: Any) -> Any:
    with engine.connect() as conn:
        return conn.execute(sa.text("SELECT secret, topics FROM webhooks")).one()


def _topics(value: Any) -> list[str]:
    return json.loads(value) if isinstance(value, str) else list(value)


def test_upgrade_seals_with_the_servers_key_and_downgrade_opens(settings, monkeypatch):
    key = settings.secret_key.get_secret_value()
    monkeypatch.setenv("LICENTIA_SECRET_KEY", key)
    urls, engine = _at_0005_with_a_webhook(settings)
    try:
        upgrade(urls)
        row = _webhook(engine)
        assert row.secret.startswith(SEALED_PREFIX) and CLEAR not in row.secret
        assert open_secret(row.secret, Fernet(key.encode())) == CLEAR
        assert _topics(row.topics) == ["copy.suspected", "installation.created", "key.invalid", "license.over_limit"]
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT webhook_id FROM outbox")).scalar() == 1  # in the delivery log
        command.downgrade(alembic_config(urls.sync), "0005")
        back = _webhook(engine)
        assert back.secret == CLEAR and _topics(back.topics) == ["install", "piracy"]
    finally:
        engine.dispose()


def test_without_the_key_the_server_seals_them_at_start(settings, monkeypatch):
    monkeypatch.delenv("LICENTIA_SECRET_KEY", raising=False)
    monkeypatch.delenv("LICENTIA_DATA_DIR", raising=False)
    urls, engine = _at_0005_with_a_webhook(settings)
    try:
        upgrade(urls)
        assert _webhook(engine).secret == CLEAR  # no key here: left for the server
        fernet = settings.fernet()
        with engine.begin() as conn:
            assert seal_clear_secrets(conn, fernet) == 1
            assert seal_clear_secrets(conn, fernet) == 0
        assert open_secret(_webhook(engine).secret, fernet) == CLEAR
    finally:
        engine.dispose()
