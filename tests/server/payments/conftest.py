"""Payment providers against the app: test signing secrets, mapped products, and a real SMTP server."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

import pytest
import sqlalchemy as sa
from pydantic import SecretStr

from tests.server.notify import conftest as notify_fixtures
from tests.server.notify.conftest import SmtpServer
from tests.server.portal.conftest import emailing

STRIPE_SECRET = "whsec_test_5f0c0ffee"
PADDLE_SECRET = "pdl_ntfset_01test_secret"
FASTSPRING_SECRET = "fastspring-test-hmac-secret"


smtp = notify_fixtures.smtp  # the real SMTP server (aiosmtpd), one per test


@pytest.fixture
def settings(settings: Any, smtp: SmtpServer) -> Any:
    emailing(settings, smtp, "help@vendor.example")
    settings.stripe_webhook_secret = SecretStr(STRIPE_SECRET)
    settings.paddle_webhook_secret = SecretStr(PADDLE_SECRET)
    settings.fastspring_webhook_secret = SecretStr(FASTSPRING_SECRET)
    return settings


def stripe_header(body: bytes, t: int, secret: str = STRIPE_SECRET) -> str:
    """Stripe's documented scheme: t=<unix>,v1=hex(HMAC-SHA256(secret, "<t>.<body>"))."""
    mac = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def paddle_header(body: bytes, ts: int, secret: str = PADDLE_SECRET) -> str:
    """Paddle's documented scheme: ts=<unix>;h1=hex(HMAC-SHA256(secret, "<ts>:<body>"))."""
    mac = hmac.new(secret.encode(), f"{ts}:".encode() + body, hashlib.sha256).hexdigest()
    return f"ts={ts};h1={mac}"


def fastspring_header(body: bytes, secret: str = FASTSPRING_SECRET) -> str:
    """FastSpring's documented scheme: base64(HMAC-SHA256(secret, body))."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def body_of(payload: Any) -> bytes:
    return json.dumps(payload).encode()


def mapping(engine: Any, clock: Any, provider: str, external_id: str, **options: Any) -> int:
    from licentia.server.payments.mapping import MappingSpec, add_mapping

    with engine.begin() as conn:
        return add_mapping(
            conn,
            MappingSpec(provider=provider, external_id=external_id, product="acme", **options),
            actor="test",
            now=clock.now(),
        )


def state(engine: Any) -> dict[str, Any]:
    """What a provider event may change: licenses, purchases, customers, links, queued emails.

    Of the outbox only which emails exist: the delivery worker sends and masks them meanwhile.
    """
    with engine.connect() as conn:
        found = {
            table: conn.execute(sa.text(f"SELECT * FROM {table} ORDER BY 1")).all()
            for table in ("licenses", "purchases", "customers", "payment_links")
        }
        found["outbox"] = conn.execute(sa.text("SELECT id, topic, dedupe_key FROM outbox ORDER BY 1")).all()
        return found


def license_row(engine: Any, license_id: int | None = None) -> Any:
    """A license (the only one when no id is given), with its dates as aware datetimes."""
    from licentia.server.store.tables import licenses

    with engine.connect() as conn:
        query = sa.select(licenses)
        return conn.execute(query.where(licenses.c.id == license_id) if license_id else query).one()


def day(unix: int) -> Any:
    import datetime as dt

    return dt.datetime.fromtimestamp(unix, dt.UTC).date()
