"""A vendor triages piracy and acts from the admin UI: Debian's Chromium (headless) against a real server.

Every check runs at a desktop width (1440 px) and a phone width (390 px), each
on its own license, devices and token of one demo history.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from licentia.core.signing import load_public_key, verify_document
from tests.processes import LiveServer
from tests.server.helpers import Installation

pytestmark = [pytest.mark.browser, pytest.mark.slow]
CHROMIUM = "/usr/bin/chromium"
EMAIL, PASSWORD = "ann@vendor.example", "correct horse battery"
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]
PRODUCT = "my-app"
WIDTHS = {"desktop": 1440, "phone": 390}


def _cli(data_dir: Path, *args: str, stdin: str = "") -> str:
    cmd = [sys.executable, "-m", "licentia", *args, "--data-dir", str(data_dir)]
    done = subprocess.run(cmd, input=stdin, capture_output=True, text=True, timeout=180, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


@dataclass
class Shop:
    server: LiveServer
    public_key: str
    copies: dict[str, tuple[str, str]]  # viewport -> (copied installation, its copy)


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shop]:
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed")
    data_dir = tmp_path_factory.mktemp("triage") / "server"
    _cli(data_dir, "demo", "--devices", "200", "--days", "40")
    _cli(data_dir, "admin", "create", EMAIL, "--password-stdin", stdin=PASSWORD + "\n")
    public_key = _cli(data_dir, "keys", "show", "--product", PRODUCT).split()[0]
    server = LiveServer(data_dir).start()
    try:
        copies = {}
        with httpx.Client(base_url=server.url, timeout=20) as http:
            for n, name in enumerate(WIDTHS):
                # A copy caught through the public API: state moved to other hardware, then the old one shows up.
                original = Installation(http, public_key, product=PRODUCT, machine=f"m-{name}", disk=f"d-{n}")
                first = original.check()["device"]
                elsewhere = Installation(http, public_key, product=PRODUCT, machine=f"x-{name}", disk=f"x-{n}")
                elsewhere.credential, elsewhere.token = dict(original.credential or {}), original.token
                elsewhere.check()
                copies[name] = (first, original.check()["device"])
        yield Shop(server, public_key, copies)
    finally:
        server.stop()


@pytest.fixture(params=list(WIDTHS))
def viewport(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def page(shop: Shop, viewport: str) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=LAUNCH_ARGS)
        context = browser.new_context(
            viewport={"width": WIDTHS[viewport], "height": 900},
            permissions=["clipboard-read", "clipboard-write"],
        )
        page = context.new_page()
        page.goto(shop.server.url + "/admin")
        page.fill("input[name=email]", EMAIL)
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_selector("header.top")
        yield page
        browser.close()


def _fits(page: Any) -> None:
    """Nothing of the page's own content runs off a phone's screen (wide tables scroll inside their box)."""
    width = page.viewport_size["width"]
    over = page.evaluate(
        """(width) => [...document.querySelectorAll('main *')]
            .filter(e => !e.closest('.scroll') && e.getBoundingClientRect().right > width + 1)
            .map(e => e.tagName + '.' + e.className)""",
        width,
    )
    assert over == [], over


def _clipboard(page: Any) -> str:
    return str(page.evaluate("navigator.clipboard.readText()"))


def _issue(page: Any, url: str, email: str, order: str) -> None:
    page.goto(url + "/admin/licenses")
    if page.locator("#issue").get_attribute("open") is None:
        page.click("#issue summary")
    page.select_option("#issue select[name=product]", PRODUCT)
    page.fill("#issue input[name=email]", email)
    page.fill("#issue input[name=order_ref]", order)
    page.click("#issue button[type=submit]")


def test_key_copy_smtp_warning_and_duplicate_order_reference(shop: Shop, page: Any, viewport: str) -> None:
    url = shop.server.url
    order = f"ORD-{viewport}"
    page.goto(url + "/admin/licenses")
    page.click("#issue summary")
    # The server has no SMTP: the form says so where the email would be sent, and so does the result.
    assert "Email is not set up" in page.locator("#issue .smtp-warning").inner_text()
    _issue(page, url, f"buyer-{viewport}@example.com", order)
    page.wait_for_selector("#license-key")
    key = page.locator("#license-key code").inner_text()
    assert "Email is not set up" in page.locator(".smtp-warning").inner_text()
    page.click("#license-key button.copy")
    page.wait_for_selector("#license-key button.copy:has-text('Copied')")
    assert _clipboard(page) == key
    _fits(page)
    issued_url = page.locator("a:has-text('Open the license')").get_attribute("href")

    # The same order reference again: said beside the field, with a link to the license that has it.
    _issue(page, url, f"other-{viewport}@example.com", order)
    error = page.locator("#order-ref-error")
    assert "Already used by" in error.inner_text()
    assert page.locator("#issue input[name=order_ref]").input_value() == order
    assert page.locator("#issue input[name=email]").input_value() == f"other-{viewport}@example.com"
    error.locator("a").click()
    assert page.url.endswith(issued_url)


def test_revoke_asks_for_a_reason_and_the_history_shows_it(shop: Shop, page: Any, viewport: str) -> None:
    url = shop.server.url
    _issue(page, url, f"revoked-{viewport}@example.com", f"REV-{viewport}")
    page.click("a:has-text('Open the license')")
    page.wait_for_selector("#risk-badge")
    # The risk badge and each factor explained in a sentence.
    assert page.locator("#risk ul.factors li").count() == 7
    assert "No copied installation was caught." in page.locator("#risk").inner_text()

    page.click("#revoke summary")
    # The browser asks for the reason first; with its check bypassed, the server refuses beside the field.
    page.evaluate("document.querySelector('#revoke input[name=reason]').removeAttribute('required')")
    page.click("#revoke button[type=submit]")
    assert "Give a reason" in page.locator("#revoke-error").inner_text()
    assert page.locator("#revoke").get_attribute("open") is not None
    page.fill("#revoke input[name=reason]", f"refund {viewport}")
    page.click("#revoke button[type=submit]")
    assert "License revoked" in page.locator("p.flash.ok").inner_text()
    history = page.locator("#history").inner_text()
    assert "License revoked" in history and f"Reason: refund {viewport}" in history and EMAIL in history
    _fits(page)


def test_device_page_risk_machine_history_and_confirmed_actions(shop: Shop, page: Any, viewport: str) -> None:
    url = shop.server.url
    index = list(WIDTHS).index(viewport)
    page.goto(url + "/admin/devices?status=registered")
    page.locator("table.list tbody a[href^='/admin/devices/']").nth(index).click()
    page.wait_for_selector("#risk-badge")
    device_url = page.url
    # A registered device: no trial to extend; its routine checks fold into lines of their own.
    assert page.locator("#extend-trial").count() == 0
    folded = page.locator("#history tr.h-folded").first.inner_text()
    assert re.search(r"\d+ checks?, \d\d \w{3}-\d\d \w{3}", folded), folded
    assert page.locator("#installations tr.current").count() == 1
    assert page.locator("#hardware-changes").count() == 1

    page.click("#free-seat summary")
    page.fill("#free-seat input[name=reason]", "new laptop")
    page.click("#free-seat button[type=submit]")
    assert "Seat freed." in page.locator("p.flash.ok").inner_text()
    page.click("#block summary")
    page.fill("#block input[name=reason]", "chargeback")
    page.click("#block button[type=submit]")
    assert "Machine blocked" in page.locator("p.flash.ok").inner_text()
    history = page.locator("#history").inner_text()
    assert "Reason: new laptop" in history and "Reason: chargeback" in history
    assert page.locator("#block").count() == 0  # blocked: not offered again
    _fits(page)

    # A trial device: the error of a wrong number stays beside its field, with what was typed.
    page.goto(url + "/admin/devices?status=trial")
    page.locator("table.list tbody a[href^='/admin/devices/']").nth(index).click()
    page.wait_for_selector("#extend-trial")
    page.evaluate("document.querySelector('#extend-trial').noValidate = true")
    page.fill("#extend-trial input[name=days]", "9000")
    page.click("#extend-trial button[type=submit]")
    assert "between 1 and 3650" in page.locator("#days-error").inner_text()
    assert page.locator("#extend-trial input[name=days]").input_value() == "9000"
    assert page.url != device_url


def test_copy_links_to_the_installation_it_copied_and_evidence_opens_in_each_format(
    shop: Shop, page: Any, viewport: str
) -> None:
    url = shop.server.url
    copied, copy = shop.copies[viewport]
    page.goto(f"{url}/admin/devices/{copy}")
    row = page.locator("#history tr.h-clone_suspected").first
    assert f"copy of {copied}" in row.inner_text()

    # The report, opened with the admin session: a page in the admin UI's layout, the copy linked to its original.
    page.click("#risk a:has-text('page')")
    page.wait_for_selector(".evidence-report h1")
    assert "Evidence report" in page.locator(".evidence-report h1").inner_text()
    assert page.locator("header.top nav").count() == 1
    assert page.locator(f".evidence-report a[href='/admin/devices/{copied}']").count() >= 1
    _fits(page)

    page.goto(f"{url}/admin/devices/{copy}")
    page.locator(f"#history tr.h-clone_suspected a[href='/admin/devices/{copied}']").first.click()
    page.wait_for_selector("#risk-badge")
    assert page.url.endswith(f"/admin/devices/{copied}")
    assert "copied installation" in page.locator("#risk li[data-factor=clones]").inner_text()
    # The original's side of the catch links to the copy.
    assert page.locator(f"#history tr.h-clone_suspected a[href='/admin/devices/{copy}']").count() >= 1
    # ... signed JSON that verifies with the product's public key, and tab-separated rows.
    base = f"{url}/admin/devices/{copied}/evidence"
    signed = page.request.get(base + "?format=json")
    assert signed.status == 200
    kid, key = load_public_key(shop.public_key)
    report = verify_document(signed.body(), {kid: key}, product=PRODUCT)
    assert report["subject"]["type"] == "device" and any(e["kind"] == "clone_suspected" for e in report["events"])
    rows = page.request.get(base + "?format=csv")
    assert rows.status == 200 and rows.headers["content-type"].startswith("text/tab-separated-values")
    assert rows.text().splitlines()[0].startswith("event_id\treceived_at")
    # Without the session, nothing: the sign-in page.
    with httpx.Client(base_url=url) as anonymous:
        assert anonymous.get(base + "?format=json").status_code == 303


def test_risk_list_tokens_and_public_key(shop: Shop, page: Any, viewport: str) -> None:
    url = shop.server.url
    page.goto(url + "/admin/risk")
    first = page.locator("#risk-list tbody tr").first
    assert re.search(r"(high|medium|low) · \d+", first.inner_text())
    _fits(page)

    page.goto(url + "/admin/tokens")
    page.fill("#new-token-form input[name=name]", f"shop {viewport}")
    page.click("#new-token-form button[type=submit]")
    token = page.locator("#new-token code").inner_text()
    page.click("#new-token button.copy")
    page.wait_for_selector("#new-token button.copy:has-text('Copied')")
    assert _clipboard(page) == token
    row = page.locator("tr", has_text=f"shop {viewport}")
    row.locator("details.confirm summary").click()
    row.locator("input[name=reason]").fill("leaked in a CI log")
    row.locator("details.confirm button[type=submit]").click()
    assert "Token revoked." in page.locator("p.flash.ok").inner_text()
    assert "revoked" in page.locator("tr", has_text=f"shop {viewport}").inner_text()
    _fits(page)
    page.goto(url + "/admin/audit")
    assert "token.revoke" in page.content()

    page.goto(url + "/admin/products")
    page.locator("a[href^='/admin/products/']").first.click()
    page.click("#public-key button.copy")
    page.wait_for_selector("#public-key button.copy:has-text('Copied')")
    assert _clipboard(page) == shop.public_key


def test_policy_form_keeps_what_was_typed_and_explains_each_field(shop: Shop, page: Any, viewport: str) -> None:
    url = shop.server.url
    page.goto(url + "/admin/products")
    page.locator("a[href^='/admin/products/']").first.click()
    page.locator("a[href*='/policies/']").first.click()
    page.wait_for_selector("#policy-form")
    knobs = page.locator("#policy-form .knob")
    assert knobs.count() >= 15
    for i in range(knobs.count()):
        assert knobs.nth(i).locator(".knob-help").inner_text().strip(), knobs.nth(i).inner_text()
    assert "days" in page.locator(".knob[data-knob=lease_days] .unit").inner_text()
    page.fill("input[name=max_devices]", "lots")
    page.fill("input[name=lease_days]", "0")
    page.click("#policy-form button[type=submit]")
    assert "A whole number of machines." in page.locator("#max_devices-error").inner_text()
    assert "Between 1 and" in page.locator("#lease_days-error").inner_text()
    assert page.locator("input[name=max_devices]").input_value() == "lots"
    assert page.locator("input[name=lease_days]").input_value() == "0"
    _fits(page)
