"""Organisations against a real database, a real SMTP server (invitations) and a real webhook receiver."""

from __future__ import annotations

import re
from typing import Any

import pytest
import sqlalchemy as sa

from licentia.server.auth.tokens import create_token
from tests.server.notify import conftest as notify_fixtures
from tests.server.notify.conftest import SmtpServer
from tests.server.portal.conftest import emailing, wait_for_mail

smtp = notify_fixtures.smtp  # the real SMTP server (aiosmtpd), one per test
receiver = notify_fixtures.receiver  # a real HTTP endpoint recording webhook deliveries


@pytest.fixture
def settings(settings: Any, smtp: SmtpServer) -> Any:
    return emailing(settings, smtp, "support@vendor.example")


@pytest.fixture
def auth(engine: Any, clock: Any) -> dict[str, str]:
    """A developer API write token's header."""
    with engine.begin() as conn:
        made = create_token(conn, name="shop", scopes=["write"], now=clock.now(), created_by="test")
    return {"Authorization": f"Bearer {made.token}"}


def invitation_link(smtp: SmtpServer, to: str, nth: int = 1) -> str:
    message = wait_for_mail(smtp, to, nth)
    assert "invited" in str(message["Subject"]), message["Subject"]
    text = message.get_body(preferencelist=("plain",)).get_content()
    found = re.search(r"https?://\S+/portal/invitation\?token=\S+", text)
    assert found, text
    return found.group(0)


def audit_actions(engine: Any, target_type: str = "organisation") -> list[tuple[str, str, str]]:
    from licentia.server.store.tables import audit_entries

    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(audit_entries.c.action, audit_entries.c.actor, audit_entries.c.target_id)
            .where(audit_entries.c.target_type == target_type)
            .order_by(audit_entries.c.id)
        ).all()
    return [tuple(r) for r in rows]
