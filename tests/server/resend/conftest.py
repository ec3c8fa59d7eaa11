"""Resending license keys against real parts: the database, the app's outbox worker, a real SMTP server."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa

from licentia.server.auth.tokens import create_token
from tests.server.admin_fixtures import csrf_of, make_admin, sign_in
from tests.server.notify import conftest as notify_fixtures
from tests.server.notify.conftest import SmtpServer
from tests.server.portal.conftest import emailing

smtp = notify_fixtures.smtp  # the real SMTP server (aiosmtpd), one per test
KEY = re.compile(r"[0-9A-Z]{5}(?:-[0-9A-Z]{5}){4}")


@pytest.fixture
def settings(settings: Any, smtp: SmtpServer) -> Any:
    return emailing(settings, smtp, "help@vendor.example")


@pytest.fixture
def csrf(client: Any, engine: Any, clock: Any) -> str:
    """The app with an owner signed in; the session's CSRF token."""
    make_admin(engine, clock)
    sign_in(client)
    return csrf_of(client)


def issue(client: Any, engine: Any, clock: Any, email: str, name: str | None = None) -> tuple[int, str]:
    """A license sold through the developer API (key emailed); its id and the key it returned once."""
    with engine.begin() as conn:
        token = create_token(conn, name="shop", scopes=["write"], now=clock.now(), created_by="test").token
    made = client.post(
        "/v1/admin/licenses",
        json={"product": "acme", "email": email, "name": name},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert made.status_code in (200, 201), made.text
    return int(made.json()["id"]), str(made.json()["key"])


def resend_form(page: str, license_id: int) -> tuple[str, dict[str, str]]:
    """The "Resend key" form of ``license_id`` on a customer or license page: its action and its fields."""
    found = re.search(
        rf'action="(/admin/(?:customers/\d+/)?licenses/{license_id}/resend-key)" class="confirm-form">\s*'
        r'<input type="hidden" name="csrf" value="([^"]+)">\s*<input type="hidden" name="resend_id" value="([^"]+)">',
        page,
    )
    assert found, "no Resend key form on the page"
    return found.group(1), {"csrf": found.group(2), "resend_id": found.group(3)}


def text_of(message: Any) -> str:
    return str(message.get_body(preferencelist=("plain",)).get_content())


def count(engine: Any, sql: str, **params: Any) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.text(sql), params).scalar_one())


def until(condition: Callable[[], bool], timeout: float = 10) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True
