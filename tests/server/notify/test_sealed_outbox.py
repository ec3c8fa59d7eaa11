"""License keys waiting in the outbox are sealed with the server's key: neither the row nor the
database file holds them in clear, and only delivery opens them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet
from fastapi.testclient import TestClient
from pydantic import SecretStr

from licentia.core.licensekeys import generate_key, masked
from licentia.server.app import create_app
from licentia.server.auth.tokens import create_token
from licentia.server.notify.sealing import SealBroken, opened
from licentia.server.store.tables import outbox
from tests.server.notify.test_license_email import deliver


def stored(engine: Any) -> Any:
    with engine.connect() as conn:
        return conn.execute(sa.select(outbox)).one()


def database_bytes(settings: Any) -> bytes:
    path = Path(sa.make_url(settings.resolved_database_url).database or "")
    return b"".join(p.read_bytes() for p in (path, Path(f"{path}-wal")) if p.exists())


def test_a_key_issued_while_smtp_is_unset_is_nowhere_in_clear(
    migrated: Any, product: Any, engine: Any, clock: Any, smtp: Any
) -> None:
    unset = migrated.model_copy(update={"smtp_host": None})
    with engine.begin() as conn:
        token = create_token(conn, name="shop", scopes=["write"], now=clock.now(), created_by="test").token
    with TestClient(create_app(unset, clock=clock)) as client:
        made = client.post(
            "/v1/admin/licenses",
            json={"product": "acme", "email": "dana@example.com"},
            headers={"Authorization": f"Bearer {token}"},
        ).json()
    key = made["key"]
    row = stored(engine)
    assert row.sent_at is None and key not in str(row.payload)
    assert masked(key) in row.payload["text"]
    if migrated.resolved_database_url.startswith("sqlite"):
        # Not in the file either (the WAL included): a copied database reveals no key.
        assert key.encode() not in database_bytes(migrated)
    # A copy of the database is no help without the server's secret key.
    with pytest.raises(SealBroken):
        opened(row.payload, Fernet(Fernet.generate_key()))

    # Once SMTP is set, the customer gets the key, and the row forgets the sealed copy.
    assert deliver(migrated, clock) == 1
    [message] = smtp.messages
    assert key in message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    row = stored(engine)
    assert row.sent_at is not None and "sealed" not in row.payload and key not in str(row.payload)


def test_keys_queued_in_clear_by_an_older_version_are_sealed_then_delivered(
    settings: Any, engine: Any, clock: Any, smtp: Any
) -> None:
    key = generate_key()
    with engine.begin() as conn:
        conn.execute(
            outbox.insert().values(
                channel="email",
                topic="license",
                payload={
                    "to": ["old@example.org"],
                    "subject": "Your license key",
                    "text": f"Here it is: {key}",
                    "html": f"<p>{key}</p>",
                    "redact": {key: masked(key)},
                },
                created_at=clock.now(),
                next_attempt_at=clock.now(),
                attempts=0,
            )
        )
    smtp.stop()  # a first round seals the row even when it cannot send
    deliver(settings, clock)
    waiting = stored(engine)
    assert key not in str(waiting.payload) and waiting.payload["sealed"] and "redact" not in waiting.payload
    smtp.start()
    clock.advance(minutes=2)
    deliver(settings, clock)
    assert f"Here it is: {key}" in smtp.messages[0].get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert key not in str(stored(engine).payload)


def test_a_server_with_another_secret_key_retries_instead_of_sending_masks(
    settings: Any, product: Any, engine: Any, clock: Any, smtp: Any
) -> None:
    from licentia.server.licenses.changes import issue_and_email
    from licentia.server.licenses.schemas import LicenseOrder

    with engine.begin() as conn:
        order = LicenseOrder(product="acme", email="e@example.org")
        issue_and_email(conn, order, actor="test", now=clock.now(), fernet=settings.fernet())
    other = settings.model_copy(update={"secret_key": SecretStr(Fernet.generate_key().decode())})
    deliver(other, clock)
    row = stored(engine)
    assert smtp.messages == [] and row.sent_at is None and row.payload["sealed"]
    assert "LICENTIA_SECRET_KEY" in row.last_error and not row.last_error.startswith("gave up")
