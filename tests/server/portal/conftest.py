"""A portal with two customers, their licenses and machines, and a real SMTP server for sign-in links."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Any

import pytest

from tests.server.admin_fixtures import form_token
from tests.server.helpers import Installation
from tests.server.notify import conftest as notify_fixtures
from tests.server.notify.conftest import SmtpServer

ANN, BOB = "ann@customer.example", "bob@other.example"


def emailing(settings: Any, smtp: SmtpServer, reply_to: str) -> Any:
    """``settings`` sending customer emails to ``smtp``, with the vendor's ``reply_to``."""
    settings.smtp_host = "127.0.0.1"
    settings.smtp_port = smtp.port
    settings.smtp_from = "Acme <licenses@vendor.example>"
    settings.outbox_poll_seconds = 0.05
    settings.customer_reply_to = reply_to
    return settings


smtp = notify_fixtures.smtp  # the real SMTP server (aiosmtpd), one per test


@pytest.fixture
def settings(settings: Any, smtp: SmtpServer) -> Any:
    return emailing(settings, smtp, "support@vendor.example")


def issue(engine: Any, clock: Any, email: str, **options: Any) -> Any:
    from licentia.server.licenses.service import issue_license

    with engine.begin() as conn:
        return issue_license(conn, product="acme", email=email, now=clock.now(), **options)


@dataclass
class Shop:
    ann_license: Any
    bob_license: Any
    ann_apps: list[Installation]
    bob_app: Installation


@pytest.fixture
def shop(client: Any, product: Any, engine: Any, clock: Any) -> Shop:
    """Ann's license on two machines, Bob's on one; the license type allows 3 transfers per 30 days."""
    import sqlalchemy as sa

    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE policies SET transfer_limit = 3, transfer_period_days = 30"))
    ann = issue(engine, clock, ANN, name="Ann")
    bob = issue(engine, clock, BOB, name="Bob")
    ann_apps = [
        Installation(client, product.public_key, machine=f"am{i}", disk=f"ad{i}", mac=f"an{i}") for i in range(2)
    ]
    for app in ann_apps:
        app.check()
        assert app.check("/v1/activate", key=ann.key)["status"] == "registered"
    bob_app = Installation(client, product.public_key, machine="bm", disk="bd", mac="bn")
    bob_app.check()
    assert bob_app.check("/v1/activate", key=bob.key)["status"] == "registered"
    return Shop(ann, bob, ann_apps, bob_app)


def wait_for_mail(smtp: SmtpServer, to: str, count: int = 1, timeout: float = 10) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        mine = [m for m in smtp.messages if to in str(m["To"])]
        if len(mine) >= count:
            return mine[count - 1]
        time.sleep(0.05)
    raise AssertionError(f"no email #{count} to {to} within {timeout} s")


def mail_about(smtp: SmtpServer, to: str, words: str, count: int) -> Any:
    """The message to ``to`` whose subject has ``words``, once ``count`` arrived (the outbox sends in any order)."""
    wait_for_mail(smtp, to, count)
    found = [m for m in smtp.messages if to in str(m["To"]) and words in str(m["Subject"])]
    assert found, [str(m["Subject"]) for m in smtp.messages]
    return found[0]


def link_in(message: Any) -> str:
    text = message.get_body(preferencelist=("plain",)).get_content()
    found = re.search(r"https?://\S+/portal/link\?token=\S+", text)
    assert found, text
    return found.group(0)


def ask_for_link(client: Any, email: str) -> Any:
    page = client.get("/portal/signin")
    return client.post("/portal/signin", data={"email": email, "csrf": form_token(page.text)})


def follow_link(client: Any, link: str) -> Any:
    path = link[link.index("/portal/") :]
    page = client.get(path)
    token = re.search(r'name="token" value="([^"]+)"', page.text)
    assert token, page.text
    return client.post(
        "/portal/link", data={"token": token.group(1), "csrf": form_token(page.text)}, follow_redirects=False
    )


def sign_in(client: Any, smtp: SmtpServer, email: str, nth: int = 1) -> None:
    assert ask_for_link(client, email).status_code == 200
    answer = follow_link(client, link_in(wait_for_mail(smtp, email, nth)))
    assert answer.status_code == 303, answer.text
