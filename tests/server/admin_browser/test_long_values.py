"""Long values in a real browser: the server refuses what the API refuses, and what it keeps never widens a page."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import LiveServer
from tests.server.admin_browser.conftest import PHONE, WIDE

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def page(admin_page: Any) -> Any:
    return admin_page


def _issue(page: Any, email: str, name: str) -> None:
    """Licenses > Issue, with the name input's ``maxlength`` taken off first (as a script or an edited page would)."""
    if page.locator("#issue").get_attribute("open") is None:
        page.click("#issue summary")
    page.eval_on_selector("#issue input[name=name]", "input => input.removeAttribute('maxlength')")
    page.select_option("#issue select[name=product]", "my-app")
    page.fill("#issue input[name=email]", email)
    page.fill("#issue input[name=name]", name)
    page.click("#issue button[type=submit]")


def _page_width(page: Any) -> int:
    return int(page.evaluate("document.documentElement.scrollWidth"))


def test_a_20000_character_name_is_refused_and_the_longest_name_allowed_fits_every_page(
    page: Any, demo_server: LiveServer
) -> None:
    url = demo_server.url
    page.goto(url + "/admin/licenses")
    _issue(page, "long.name@example.com", "N" * 20000)
    assert "name: String should have at most 200 characters" in page.locator("#name-error").inner_text()
    assert page.locator("#license-key").count() == 0

    longest = "W" * 200  # no space to break at: the worst case for a table
    _issue(page, "long.name@example.com", longest)
    page.wait_for_selector("#license-key")
    page.goto(url + "/admin/licenses?q=long.name%40example.com")
    shown = page.locator("table.list tbody .clip").first
    assert shown.get_attribute("title") == longest  # the whole name on hover
    assert _page_width(page) <= WIDE
    shown.click()
    page.wait_for_url(f"{url}/admin/customers/*")
    assert _page_width(page) <= WIDE
    customer_page = page.url
    for path in ("/admin/licenses", "/admin/customers", customer_page.removeprefix(url)):
        page.set_viewport_size({"width": PHONE, "height": 900})
        page.goto(url + path)
        assert _page_width(page) <= PHONE, path
