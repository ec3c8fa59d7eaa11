"""Words in Chromium: counts that agree, plurals for people, the audit log found by a device id, test pings named."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.conftest import LiveServer

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_the_conversion_tile_and_its_sentence_give_the_same_numbers(admin_page: Any) -> None:
    tile = admin_page.locator("#tile-conversion small").inner_text()
    found = re.match(r"([\d,]+) of ([\d,]+) installations", tile)
    assert found is not None, tile
    converted, size = found.groups()
    assert f"of the {size} installations" in admin_page.locator("#cohort").inner_text()
    assert f"{converted} have activated" in admin_page.locator("#cohort").inner_text()


def test_one_day_reads_as_one_day_and_the_audit_log_finds_the_device(admin_page: Any, demo_server: LiveServer) -> None:
    page = admin_page
    page.goto(demo_server.url + "/admin/devices?status=trial")
    href = page.locator("#results tbody tr a[href^='/admin/devices/']").first.get_attribute("href")
    device = href.rsplit("/", 1)[1]
    page.goto(demo_server.url + href)
    page.fill("#extend-trial input[name=days]", "1")
    page.click("#extend-trial button[type=submit]")
    assert "Trial extended by 1 day." in page.locator("p.flash.ok").inner_text()
    for path in (href, "/admin/risk"):
        page.goto(demo_server.url + path)
        assert "(s)" not in page.locator("main").inner_text()
    page.goto(demo_server.url + "/admin/audit")
    page.fill("input[name=q]", device)
    page.press("input[name=q]", "Enter")
    page.wait_for_url(re.compile(r"q=dv_"))
    assert "by 1 day" in page.locator("td.sentence").first.inner_text()


def test_a_test_ping_is_labelled_as_a_test(admin_page: Any, demo_server: LiveServer) -> None:
    page = admin_page
    page.goto(demo_server.url + "/admin/webhooks")
    page.fill("input[name=url]", "http://127.0.0.1:9/nobody-listens")
    page.click("form.hook-form button[type=submit]")
    page.click("text=Send test ping")
    row = page.locator("#deliveries tbody tr").first
    assert "test" in row.locator("td").nth(1).inner_text()
    assert row.locator(".delivery-status").inner_text() == "test not delivered"
    assert row.locator("td").nth(3).inner_text() == "once"
