"""A real browser (Debian's Chromium, headless) against a real server process."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import LiveServer

pytestmark = [pytest.mark.browser, pytest.mark.slow]
CHROMIUM = "/usr/bin/chromium"
EMAIL, PASSWORD = "ann@vendor.example", "correct horse battery"
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]


def _cli(data_dir: Path, *args: str, stdin: str = "") -> None:
    cmd = [sys.executable, "-m", "licentia", *args, "--data-dir", str(data_dir)]
    done = subprocess.run(cmd, input=stdin, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr


@pytest.fixture
def demo_server(tmp_path: Path) -> Iterator[LiveServer]:
    data_dir = tmp_path / "server"
    _cli(data_dir, "demo", "--devices", "300", "--days", "30")
    _cli(data_dir, "admin", "create", EMAIL, "--password-stdin", stdin=PASSWORD + "\n")
    server = LiveServer(data_dir).start()
    yield server
    server.stop()


@pytest.fixture
def page() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=LAUNCH_ARGS)
        yield browser.new_page(viewport={"width": 1400, "height": 1000})
        browser.close()


def _sign_in(page: Any, url: str, password: str) -> None:
    page.goto(url + "/admin")
    page.fill("input[name=email]", EMAIL)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")


def test_browser_signs_in_issues_extends_and_sees_charts(demo_server: LiveServer, page: Any) -> None:
    url = demo_server.url
    _sign_in(page, url, "wrong password!")
    assert "Wrong email or password." in page.content()
    _sign_in(page, url, PASSWORD)
    page.wait_for_selector("#chart-installs svg")
    assert page.locator("#chart-installs svg rect.bar").count() > 10
    assert page.locator("#chart-states svg rect.bar").count() > 10
    assert page.locator("#chart-versions svg rect.bar").count() >= 2

    page.goto(url + "/admin/licenses")
    page.click("#issue summary")  # the form folds away once licenses exist
    page.select_option("#issue select[name=product]", "my-app")
    page.fill("#issue input[name=email]", "buyer@example.com")
    page.click("#issue button[type=submit]")
    page.wait_for_selector("#license-key")
    key = page.locator("#license-key code").inner_text()
    assert len(key.replace("-", "")) >= 20

    page.goto(url + "/admin/devices?status=trial")
    page.locator("table.list tbody a").first.click()
    page.fill("input[name=days]", "7")
    page.click("button:has-text('Extend trial')")
    assert "Trial extended by 7 days." in page.locator("p.flash.ok").inner_text()

    # A form whose CSRF token was stripped (as a forged cross-site form would lack it) is refused.
    page.evaluate("document.querySelectorAll('input[name=csrf]').forEach(e => e.remove())")
    page.fill("input[name=days]", "7")
    page.click("button:has-text('Extend trial')")
    page.wait_for_selector("text=security token is missing or wrong")

    page.goto(url + "/admin/audit")
    text = page.content()
    assert "license.issue" in text and "device.extend_trial" in text
