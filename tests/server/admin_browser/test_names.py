"""Names before ids, in Chromium: the queues, the risk list and the machines list speak of computers and customers."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.conftest import LiveServer

pytestmark = [pytest.mark.browser, pytest.mark.slow]
DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def test_trials_ending_queue_names_the_computer_the_time_and_the_customer(admin_page: Any) -> None:
    first = admin_page.locator("#queue-ending li").first
    name = first.locator("a.queue-name").inner_text()
    assert name and not name.startswith(("dv_", "mc_"))
    said = first.inner_text()
    assert re.search(r"ends \w{3} \d{2}, \d{2}:\d{2} UTC", said) and "no customer yet" in said


def test_risk_list_has_dates_actions_and_pages(admin_page: Any, demo_server: LiveServer) -> None:
    page = admin_page
    page.goto(demo_server.url + "/admin/risk")
    rows = page.locator("#risk-list tbody tr")
    assert rows.count() <= 50
    first = rows.first
    assert DATE.search(first.locator("td").nth(5).inner_text()) and DATE.search(first.locator("td").nth(6).inner_text())
    assert first.locator("td.actions details.confirm summary").inner_text().rstrip("…") in ("block", "revoke")
    assert first.locator("td.actions a", has_text="evidence").count() == 1
    total = int(page.locator("p.count").get_attribute("data-total"))
    if total > 50:
        page.click("nav.pager a[rel=next]")
        page.wait_for_url(re.compile(r"page=2"))
        assert page.locator("p.count").inner_text().startswith("51\N{EN DASH}")


def test_machines_list_pages_and_finds_a_machine_by_its_computer_name(admin_page: Any, demo_server: LiveServer) -> None:
    page = admin_page
    page.goto(demo_server.url + "/admin/machines")
    assert page.locator("header nav a.active").inner_text() == "Machines"
    assert page.locator("#machines tbody tr").count() == 50  # the demo has more machines than a page
    name = page.locator("#machines a.machine-name").first.inner_text()
    assert not name.startswith(("dv_", "mc_"))
    page.click("nav.pager a[rel=next]")
    assert "51\N{EN DASH}" in page.locator(".list-bar .count").inner_text()

    page.fill("input[name=q]", name[:-1])
    page.click("form.search button")
    found = page.locator("#machines a.machine-name").all_inner_texts()
    assert name in found
    page.locator("#machines a.machine-name", has_text=name).first.click()
    assert name in page.locator("h1").inner_text()  # the device page leads with the computer's name
