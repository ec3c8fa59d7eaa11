"""What a vendor does from the admin UI, driven in Chromium: dashboard, queues, lists, exports, customers, audit."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import LiveServer
from tests.server.admin_browser.conftest import PHONE, new_page, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def page(demo_server: LiveServer, browser: Any) -> Iterator[Any]:
    opened = new_page(browser, accept_downloads=True)
    sign_in(opened, demo_server.url)
    yield opened
    opened.context.close()


def _download_csv(page: Any, selector: str) -> list[dict[str, str]]:
    with page.expect_download() as info:
        page.click(selector)
    text = Path(info.value.path()).read_text(encoding="utf-8")
    return list(csv.DictReader(io.StringIO(text)))


def _total(page: Any) -> int:
    return int(page.locator(".list-bar .count").get_attribute("data-total"))


def test_dashboard_period_applies_at_once_and_tiles_lead_to_their_lists(page: Any, demo_server: LiveServer) -> None:
    url = demo_server.url
    # The demo's history ends now, so just after midnight today may hold no installation yet:
    # one installed here gives today a bar, whatever the hour.
    first_contact = httpx.post(url + "/v1/check", json={"product": "my-app", "device_id": "installed-today"})
    assert first_contact.status_code == 200, first_contact.text
    page.select_option("select[name=days]", "90")  # no button: the choice applies
    page.wait_for_url(re.compile(r"days=90"))
    assert "last 90 days" in page.locator("h1").inner_text()
    assert page.locator("#chart-installs rect.bar.partial").count() == 1  # today's bar is marked as partial
    assert "today" in page.locator("#chart-installs svg").text_content()
    legend = page.locator("#chart-piracy svg").text_content()
    assert "Suspected copies" in legend and "Invalid keys" in legend
    assert "first seen since" in page.locator("#cohort").inner_text()
    assert "vs previous" in page.locator("#tile-new").inner_text()

    registered = int(page.locator("#tile-registered b").inner_text().replace(",", ""))
    page.click("#tile-registered")
    page.wait_for_url(re.compile(r"/admin/devices\?.*status=registered"))
    assert _total(page) == registered
    assert set(page.locator("#results tbody td:nth-child(2)").all_inner_texts()) == {"registered"}
    page.goto(url + "/admin")
    page.click("#tile-piracy")
    page.wait_for_url(re.compile(r"flag=copies"))
    assert page.locator("#results tbody .pill-blocked").count() == page.locator("#results tbody tr").count()


def test_one_click_extend_from_the_trials_ending_queue(page: Any, demo_server: LiveServer) -> None:
    queue = page.locator("#queue-ending")
    first = queue.locator("li").first
    device = first.locator("input[name=device]").get_attribute("value")
    first.locator("button").click()
    assert "Trial extended by 14 days." in page.locator("p.flash.ok").inner_text()
    page.goto(demo_server.url + "/admin/audit?action=device.extend_trial")
    sentence = page.locator("td.sentence").first.inner_text()
    assert f"device {device[:12]}" in sentence and "by 14 days" in sentence


def test_sales_leads_export_keeps_the_queue_filter(page: Any) -> None:
    shown = page.locator("#queue-leads .count").inner_text()
    rows = _download_csv(page, "#export-leads")
    assert rows and ((shown == "100+" and len(rows) > 100) or len(rows) == int(shown))
    assert {r["status"] for r in rows} == {"trial_expired"}


def test_device_list_counts_pages_sorts_filters_and_exports(page: Any, demo_server: LiveServer) -> None:
    page.goto(demo_server.url + "/admin/devices")
    total = _total(page)
    assert page.locator(".list-bar .count").inner_text() == f"Devices: 1-50 of {total:,}"
    page.click("a[rel=next]")
    assert page.locator(".list-bar .count").inner_text() == f"Devices: 51-100 of {total:,}"
    page.click("a[rel=prev]")
    page.click("th a.sort:has-text('First seen')")  # newest first
    page.click("th a.sort:has-text('First seen')")  # then oldest first
    assert page.locator("th[aria-sort=ascending]").inner_text().startswith("First seen")
    seen = page.locator("#results tbody td:nth-child(8) time").evaluate_all("ts => ts.map(t => t.dateTime)")
    assert seen == sorted(seen) and len(seen) == 50

    page.select_option("select[name=flag]", "invalid_keys")
    page.wait_for_url(re.compile(r"flag=invalid_keys"))
    page.wait_for_selector(".list-bar .count")
    flagged = _total(page)
    assert 0 < flagged < total
    rows = _download_csv(page, ".list-bar a.button")
    assert len(rows) == flagged
    assert page.locator(".list-bar a.button").get_attribute("href").endswith("flag=invalid_keys")


def test_license_and_customer_lists_and_the_customer_page(page: Any, demo_server: LiveServer) -> None:
    url = demo_server.url
    page.goto(url + "/admin/licenses")
    total = _total(page)
    rows = _download_csv(page, ".list-bar a.button")
    assert len(rows) == total
    page.click("th a.sort:has-text('Seats (machines)')")
    seats = [int(t.split("/")[0]) for t in page.locator("tbody td.num").all_inner_texts()]
    assert seats == sorted(seats, reverse=True)

    page.goto(url + "/admin/customers")
    assert _total(page) > 0
    page.locator("tbody a").first.click()
    page.wait_for_url(re.compile(r"/admin/customers/\d+$"))
    customer_url = page.url
    for section in ("#licenses", "#installations", "#orders", "#emails"):
        assert page.locator(section).count() == 1
    owned = page.locator("#licenses tbody tr").count()
    # A demo key was handed over long ago: it is kept sealed, so a new email with it is queued, once confirmed.
    first = page.locator("#licenses details.send").first
    first.locator("summary").click()
    assert "again, with its purchase certificate?" in first.locator(".confirm-question").inner_text()
    first.locator("button[type=submit]").click()
    assert "A new key email to" in page.locator("p.flash.ok").inner_text()

    page.click("#issue-another")
    email = page.locator("#issue input[name=email]").input_value()
    assert email and page.locator("#issue").get_attribute("open") is not None
    page.click("#issue button[type=submit]")
    page.wait_for_selector("#license-key")
    page.goto(customer_url)
    assert page.locator("#licenses tbody tr").count() == owned + 1
    assert "Your license key" in page.locator("#emails").inner_text()
    # The new key's email is still queued (no SMTP here): "Resend key" sends that one rather than a second.
    newest = page.locator("#licenses details.send").first
    newest.locator("summary").click()
    newest.locator("button[type=submit]").click()
    assert "goes out now" in page.locator("p.flash.ok").inner_text()


def test_audit_reads_as_sentences_and_filters_by_action_person_and_date(page: Any, demo_server: LiveServer) -> None:
    url = demo_server.url
    page.goto(url + "/admin/licenses")
    page.click("#issue summary")
    page.fill("#issue input[name=email]", "carol@example.com")
    page.click("#issue button[type=submit]")
    page.wait_for_selector("#license-key")
    page.goto(url + "/admin/audit")
    page.select_option("select[name=action]", "license.issue")
    page.select_option("select[name=actor]", "admin:ann@vendor.example")
    page.click("#audit-filter button[type=submit]")
    page.wait_for_url(re.compile(r"action=license\.issue&actor=admin"))  # the filtered page, loaded
    actions = page.locator("td.sentence").evaluate_all("cells => cells.map(c => c.dataset.action)")
    assert actions and set(actions) == {"license.issue"}
    sentence = page.locator("td.sentence").first.inner_text()
    assert re.search(r"Issued license \w+… to carol@example.com", sentence), sentence
    page.fill("input[name=from]", "2099-01-01")
    page.click("#audit-filter button[type=submit]")
    page.wait_for_url(re.compile(r"from=2099-01-01"))
    assert page.locator("td.sentence").count() == 0 and "Nothing matches" in page.content()


def test_phone_layout_compact_navigation_and_two_tile_columns(demo_server: LiveServer, browser: Any) -> None:
    phone = new_page(browser, PHONE)
    try:
        sign_in(phone, demo_server.url)
        header = phone.locator("header.top").bounding_box()
        assert header is not None and header["height"] < 110
        columns = {round(box["x"]) for box in (t.bounding_box() for t in phone.locator(".tiles .tile").all()) if box}
        assert len(columns) == 2
        phone.goto(demo_server.url + "/admin/devices")
        table = phone.locator("#results .table-scroll")
        assert table.evaluate("e => e.scrollWidth > e.clientWidth")  # the table scrolls inside its card
        assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE
    finally:
        phone.context.close()
