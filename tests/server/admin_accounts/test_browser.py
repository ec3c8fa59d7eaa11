"""Headless Chromium against a real ``licentia serve``: webhooks with their delivery log, roles, TOTP sign-in.

The webhook receiver is a real local HTTP server; TOTP codes are computed with
pyotp from the key the enrolment page shows.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyotp
import pytest

from licentia.server.notify.signature import verify_signature
from tests.conftest import LiveServer
from tests.server.notify.conftest import WebhookReceiver
from tests.server.notify.test_events import wait_until
from tests.server.test_admin_browser import CHROMIUM, LAUNCH_ARGS, _cli

pytestmark = [pytest.mark.browser, pytest.mark.slow]
OWNER, VIEWER, PASSWORD = "olga@vendor.example", "vic@vendor.example", "correct horse battery"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LiveServer]:
    data_dir = tmp_path / "server"
    live = LiveServer(data_dir, env={"LICENTIA_OUTBOX_POLL_SECONDS": "0.2"}).start()
    try:
        _cli(data_dir, "admin", "create", OWNER, "--password-stdin", stdin=PASSWORD + "\n")
        yield live
    finally:
        live.stop()


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    running = WebhookReceiver().start()
    yield running
    running.stop()


@pytest.fixture
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=LAUNCH_ARGS)
        yield launched
        launched.close()


def sign_in(page: Any, url: str, email: str) -> None:
    page.goto(url + "/admin/signin")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")


def test_webhook_management_delivery_log_and_redelivery(server: LiveServer, receiver: WebhookReceiver, browser: Any):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    url = server.url
    sign_in(page, url, OWNER)
    page.click("nav >> text=Webhooks")
    page.fill("input[name=url]", receiver.url)
    page.fill("input[name=description]", "CRM sync")
    page.select_option("select[name=product]", "my-app")
    page.uncheck("input[name=all_events]")
    page.check("input[name=event][value='license.created']")
    page.click("button:has-text('Add endpoint')")
    secret = page.locator("#webhook-secret code").inner_text()
    assert secret.startswith("whsec_")

    page.click("button:has-text('Send test ping')")
    assert "Test ping delivered: HTTP 200." in page.locator("p.flash.ok").inner_text()
    ping = receiver.deliveries[0]
    verify_signature(ping.body, ping.headers["Licentia-Signature"], secret, at=dt.datetime.now(dt.UTC))
    assert ping.json()["event"] == "ping"

    # A license issued in the UI reaches the endpoint, signed, through the outbox.
    page.goto(url + "/admin/licenses")
    page.select_option("#issue select[name=product]", "my-app")
    page.fill("#issue input[name=email]", "buyer@example.com")
    page.click("#issue button[type=submit]")
    page.wait_for_selector("#license-key")
    wait_until(lambda: len(receiver.deliveries) == 2)
    created = receiver.deliveries[1]
    verify_signature(created.body, created.headers["Licentia-Signature"], secret, at=dt.datetime.now(dt.UTC))
    assert created.json()["event"] == "license.created"

    page.goto(url + "/admin/webhooks")
    page.click("#webhooks a")
    rows = page.locator("#deliveries tbody tr")
    assert rows.count() == 2
    assert rows.nth(0).locator(".delivery-status").inner_text() == "delivered"
    assert rows.nth(0).locator(".delivery-code").inner_text() == "200"

    # The receiver fails: a redelivery is logged with its HTTP status and retried.
    receiver.status = 503
    rows.nth(0).locator("button:has-text('redeliver')").click()
    assert "queued again" in page.locator("p.flash.ok").inner_text()

    def logged_503() -> bool:
        page.reload()
        return page.locator("#deliveries tbody tr").nth(0).locator(".delivery-code").inner_text() == "503"

    wait_until(logged_503)
    assert page.locator("#deliveries tbody tr").nth(0).locator(".delivery-status").inner_text() == "retrying"
    receiver.status = 200
    page.locator("#deliveries tbody tr").nth(1).locator("button:has-text('redeliver')").click()
    wait_until(lambda: len(receiver.deliveries) == 3)
    assert receiver.deliveries[2].headers["Licentia-Event-Id"] == created.headers["Licentia-Event-Id"]

    page.click("button:has-text('Disable')")
    assert page.locator("#hook-state").inner_text() == "disabled"
    # The secret is shown once: never again on the page.
    assert secret not in page.content()


def test_roles_and_totp_sign_in_in_the_browser(server: LiveServer, browser: Any):
    url = server.url
    owner = browser.new_context().new_page()
    sign_in(owner, url, OWNER)
    owner.click("nav >> text=Admins")
    owner.fill("form[action='/admin/admins'] input[name=email]", VIEWER)
    owner.fill("form[action='/admin/admins'] input[name=password]", PASSWORD)
    owner.select_option("form[action='/admin/admins'] select[name=role]", "viewer")
    owner.click("button:has-text('Add admin')")
    assert f"Admin {VIEWER} added." in owner.locator("p.flash.ok").inner_text()
    # The only owner cannot demote themselves.
    row = owner.locator(f"tr[data-email='{OWNER}']")
    row.locator("select[name=role]").select_option("staff")
    row.locator("button:has-text('change')").click()
    assert "is the last owner" in owner.locator("p.flash.err").inner_text()

    viewer = browser.new_context().new_page()
    sign_in(viewer, url, VIEWER)
    viewer.goto(url + "/admin/webhooks")
    viewer.fill("input[name=url]", "https://hooks.vendor.example/x")
    viewer.click("button:has-text('Add endpoint')")
    assert "Your role (viewer) cannot make this change" in viewer.content()
    viewer.goto(url + "/admin/admins")
    assert "Only an owner manages the admins." in viewer.content()

    # The viewer turns on two-step sign-in for their own account.
    viewer.goto(url + "/admin/account")
    assert viewer.locator("#my-role").inner_text() == "viewer"
    viewer.click("button:has-text('Set up two-step sign-in')")
    assert viewer.locator("#totp-qr").get_attribute("src").startswith("data:image/svg+xml;base64,")
    totp = pyotp.TOTP(viewer.locator("#totp-secret").inner_text())
    viewer.fill("form[action='/admin/account/totp/confirm'] input[name=code]", totp.now())
    viewer.click("button:has-text('Turn on')")
    assert viewer.locator("#recovery-codes li").count() == 10

    viewer.click("button:has-text('Sign out')")
    sign_in(viewer, url, VIEWER)
    viewer.wait_for_selector("text=One more step")
    viewer.fill("input[name=code]", "000000")
    viewer.click("button:has-text('Verify')")
    assert "That code is wrong or was already used." in viewer.content()
    # The next time step's code (the enrolment used the current one).
    viewer.fill("input[name=code]", totp.at(time.time() + 30))
    viewer.click("button:has-text('Verify')")
    viewer.wait_for_selector("nav >> text=Webhooks")
    assert viewer.url.rstrip("/").endswith("/admin")


def test_email_previews_show_each_template(server: LiveServer, browser: Any):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    sign_in(page, server.url, OWNER)
    page.click("nav >> text=Emails")
    for name in ("license", "renewal", "cancellation", "signin", "trial-ending"):
        section = page.locator(f"#email-{name}")
        assert section.locator(".subject").inner_text()
        assert section.locator(".email-text").inner_text().startswith("Hello")
        frame = page.frame_locator(f"#email-{name} iframe")
        assert "Hello" in frame.locator("body").inner_text()
    assert page.locator("#email-license .subject").inner_text() == "Your license key for My App"
    assert page.locator("#email-renewal .subject").inner_text() == "Your My App license is renewed"
