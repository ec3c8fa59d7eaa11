"""Every admin page, at 1440 px and at 390 px: nothing wider than the screen, no serious accessibility fault.

The crawler signs in, follows every link of the navigation, opens one object
of each kind (device, license, customer, product, policy) from its list, and
every link to another admin page found on those pages (one level deep, actions
and exports left out), so a page added later is checked without naming it here.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.conftest import LiveServer
from tests.server.admin_browser.conftest import PHONE, WIDE, new_page, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]
# One object of each kind is enough: its siblings are drawn by the same template.
OBJECT = re.compile(
    r"^/admin/(?:products/\d+/)?(devices|licenses|customers|products|policies|payments|tokens|webhooks|admins)/[^/]+$"
)
LEFT_OUT = re.compile(r"\.csv$|/signout$|/static/")
SERIOUS = {"serious", "critical"}


def _admin_links(page: Any) -> list[str]:
    hrefs = page.eval_on_selector_all("a[href]", "els => els.map(e => e.getAttribute('href'))")
    found = []
    for href in hrefs:
        path = urlsplit(href).path
        if path.startswith("/admin") and not LEFT_OUT.search(path) and not urlsplit(href).netloc:
            found.append(path.rstrip("/") or "/admin")
    return found


def crawl(page: Any, url: str) -> list[str]:
    """The navigation's pages, then one object of each kind linked from them, then what those link to."""
    nav = list(dict.fromkeys(_nav(page)))
    pages = list(nav)
    kinds: dict[str, str] = {}
    for level in range(2):
        for path in list(pages):
            page.goto(url + path)
            for link in _admin_links(page):
                kind = OBJECT.match(link)
                if kind and kind.group(1) not in kinds:
                    kinds[kind.group(1)] = link
                    pages.append(link)
                elif not kind and link not in pages and level == 0 and link.count("/") <= 3:
                    pages.append(link)
    for wanted in ("devices", "licenses", "customers", "products", "policies"):
        assert wanted in kinds, f"no {wanted[:-1]} page reachable from {nav}"
    return list(dict.fromkeys(pages))


def _nav(page: Any) -> list[str]:
    hrefs = page.eval_on_selector_all("header nav a[href]", "els => els.map(e => e.getAttribute('href'))")
    return [h for h in hrefs if h.startswith("/admin")]


def overflow(page: Any) -> int:
    """How many CSS pixels the page is wider than the viewport (0: nothing sticks out)."""
    return int(page.evaluate("document.documentElement.scrollWidth - window.innerWidth"))


def axe_faults(page: Any, axe_source: str) -> list[str]:
    page.evaluate(axe_source)
    result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes'][:3]]}"
        for v in result["violations"]
        if v["impact"] in SERIOUS
    ]


def small_chart_labels(page: Any) -> list[str]:
    """Chart labels drawn smaller than 11 px on screen."""
    return page.evaluate(
        """() => [...document.querySelectorAll('svg.chart text')].filter(t => {
            const size = parseFloat(getComputedStyle(t).fontSize) * t.getScreenCTM().a;
            return size < 10.95;
        }).map(t => t.textContent)"""
    )


def test_every_page_fits_the_screen_and_passes_axe(
    demo_server: LiveServer, browser: Any, axe_source: str | None
) -> None:
    url = demo_server.url
    faults: dict[str, list[str]] = {}
    for width in (WIDE, PHONE):
        page = new_page(browser, width)
        sign_in(page, url)
        pages = crawl(page, url)
        assert len(pages) >= 14, pages
        print(f"{width} px: {len(pages)} pages: {pages}")
        for path in pages:
            response = page.goto(url + path)
            assert response is not None and response.status == 200, f"{path} answered {response and response.status}"
            wider = overflow(page)
            if wider > 0:
                faults.setdefault(f"{path} at {width} px", []).append(f"{wider} px wider than the screen")
            if width == PHONE and page.locator("svg.chart").count():
                small = small_chart_labels(page)
                if small:
                    faults.setdefault(f"{path} at {width} px", []).append(f"chart labels under 11 px: {small[:5]}")
            if axe_source is not None:
                for fault in axe_faults(page, axe_source):
                    faults.setdefault(f"{path} at {width} px", []).append(fault)
        page.context.close()
    assert not faults, "\n".join(f"{where}: {what}" for where, whats in faults.items() for what in whats)
    if axe_source is None:
        pytest.skip("npm is not installed: layout checked, accessibility (axe-core from npm) not checked")
