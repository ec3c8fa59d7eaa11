"""A phone (390 px) in Chromium: every section in reach, charts open at today, wide tables say they scroll."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import LiveServer
from tests.server.admin_browser.conftest import PHONE, new_page, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def phone(demo_server: LiveServer, browser: Any) -> Iterator[Any]:
    opened = new_page(browser, PHONE)
    sign_in(opened, demo_server.url)
    yield opened
    opened.context.close()


def _on_screen(box: dict[str, float] | None) -> bool:
    return box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE + 1


def test_every_section_is_one_tap_away_without_javascript(demo_server: LiveServer, browser: Any) -> None:
    page = new_page(browser, PHONE, java_script_enabled=False)
    try:
        sign_in(page, demo_server.url)
        page.click("details.menu summary")
        links = page.locator(".menu-links a")
        assert links.count() >= 13
        for link in links.all():
            assert link.is_visible() and _on_screen(link.bounding_box()), link.inner_text()
        page.click(".menu-links a:has-text('Audit log')")
        page.wait_for_url(demo_server.url + "/admin/audit")
        assert "Audit log" in page.locator("details.menu summary").inner_text()
    finally:
        page.context.close()


def test_charts_open_at_today(phone: Any) -> None:
    for chart in ("#chart-installs", "#chart-active"):
        today = phone.locator(f"{chart} svg text", has_text="today").first
        assert _on_screen(today.bounding_box()), chart


def test_a_wide_table_says_it_scrolls_and_keeps_its_actions_in_reach(phone: Any, demo_server: LiveServer) -> None:
    phone.goto(demo_server.url + "/admin/webhooks")
    phone.fill("input[name=url]", "http://127.0.0.1:9/phone")
    phone.click("form.hook-form button[type=submit]")
    phone.click("text=Send test ping")
    box = phone.locator("#deliveries").locator("xpath=..")
    assert "overflows" in (box.get_attribute("class") or "")
    hint = box.evaluate("e => getComputedStyle(e, '::before').content")
    assert "Scroll sideways" in hint
    redeliver = phone.locator("#deliveries tbody tr").first.locator("button", has_text="redeliver")
    assert _on_screen(redeliver.bounding_box())
