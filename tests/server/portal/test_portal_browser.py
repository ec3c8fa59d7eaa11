"""The portal in a real browser (Debian's Chromium, headless, phone-sized) against a real server and SMTP server."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import LiveServer
from tests.server.admin_browser.conftest import PHONE, WIDE, load_axe
from tests.server.admin_browser.test_every_page import axe_faults
from tests.server.helpers import Installation
from tests.server.notify.conftest import SmtpServer
from tests.server.portal.conftest import link_in, wait_for_mail

pytestmark = [pytest.mark.browser, pytest.mark.slow]
CHROMIUM = "/usr/bin/chromium"
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]
ANN, BOB = "ann@customer.example", "bob@other.example"


def _cli(data_dir: Path, *args: str) -> str:
    cmd = [sys.executable, "-m", "licentia", *args, "--data-dir", str(data_dir)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@dataclass
class Portal:
    server: LiveServer
    http: httpx.Client
    ann_key: str
    bob_key: str

    def machine(self, name: str) -> Installation:
        app = Installation(self.http, self.server.public_key(), product="my-app", machine=name, disk=name, mac=name)
        app.check()
        return app


@pytest.fixture
def portal(tmp_path: Path) -> Iterator[Portal]:
    smtp = SmtpServer().start()
    data_dir = tmp_path / "server"
    _cli(data_dir, "init")
    _cli(
        data_dir, "policy", "set", "my-app", "Default", "--set", "transfer_limit=3", "--set", "transfer_period_days=30"
    )
    ann_key = _cli(data_dir, "license", "issue", "--product", "my-app", "--email", ANN)
    bob_key = _cli(data_dir, "license", "issue", "--product", "my-app", "--email", BOB)
    (data_dir / "releases").mkdir()
    (data_dir / "releases" / "my-app-2.0.zip").write_bytes(b"PK release 2.0")
    env = {
        "LICENTIA_SMTP_HOST": "127.0.0.1",
        "LICENTIA_SMTP_PORT": str(smtp.port),
        "LICENTIA_OUTBOX_POLL_SECONDS": "0.1",
    }
    server = LiveServer(data_dir, env=env).start()
    http = httpx.Client(base_url=server.url, timeout=10)
    try:
        _publish(data_dir)
        found = Portal(server, http, ann_key, bob_key)
        found.smtp = smtp  # type: ignore[attr-defined]
        yield found
    finally:
        http.close()
        server.stop()
        smtp.stop()


def _publish(data_dir: Path) -> None:
    from licentia.core.clock import SystemClock
    from licentia.server.products.service import get_product
    from licentia.server.releases.service import publish
    from licentia.server.store.engine import database_urls, make_sync_engine

    engine = make_sync_engine(database_urls(f"sqlite:///{data_dir / 'licentia.db'}"), pool_size=1)
    try:
        with engine.begin() as conn:
            product_id = get_product(conn, "my-app").id
            publish(
                conn,
                product_id=product_id,
                version="2.0",
                channel="stable",
                now=SystemClock().now(),
                download_url="stored:my-app-2.0.zip",
            )
    finally:
        engine.dispose()


@pytest.fixture
def page() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=LAUNCH_ARGS)
        context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, accept_downloads=True)
        yield context.new_page()
        browser.close()


def _fits_the_phone(page: Any) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"))


def _sign_in(page: Any, portal: Portal, nth: int = 1) -> None:
    page.goto(portal.server.url + "/portal")
    page.fill("input[name=email]", ANN)
    page.click("button[type=submit]")
    page.wait_for_selector("#sent")
    page.goto(link_in(wait_for_mail(portal.smtp, ANN, count=nth)))  # type: ignore[attr-defined]
    page.click("#continue")
    page.wait_for_selector("article.license")


def test_machines_are_named_for_people_and_the_customer_labels_them(portal: Portal, page: Any) -> None:
    assert portal.server.cli("product", "facts", "my-app", "--enable").returncode == 0
    named = Installation(portal.http, portal.server.public_key(), product="my-app", machine="n", disk="n", mac="n")
    named.check(facts={"computer_name": "DANA-PC"}, os="Windows 11")
    plain = Installation(portal.http, portal.server.public_key(), product="my-app", machine="p", disk="p", mac="p")
    plain.check(os="macOS 15")
    for app in (named, plain):
        assert app.check("/v1/activate", key=portal.ann_key)["status"] == "registered"
    _sign_in(page, portal)
    page.click("article.license a.button")
    names = page.locator("#machines .machine-name").all_inner_texts()
    assert sorted(names) == ["DANA-PC", "macOS 15"]  # never mc_/dv_ ids
    assert "first seen" in page.locator("#machines .machine").first.inner_text()
    hint = "window.getComputedStyle(document.querySelector('.table-scroll'), '::before').content"
    assert "Scroll sideways" in page.evaluate(hint)  # a phone is told the table scrolls

    mac = page.locator(".machine", has_text="macOS 15")
    mac.locator("details.label-machine summary").click()
    mac.locator("input[name=label]").fill("Studio  iMac")
    mac.locator("details.label-machine button").click()
    assert "Machine named “Studio iMac”." in page.locator("p.flash.ok").inner_text()
    assert "Studio iMac" in page.locator("#machines .machine-name").all_inner_texts()
    # Held to its limit on the server, whatever the browser allows.
    mac = page.locator(".machine", has_text="Studio iMac")
    mac.locator("details.label-machine summary").click()
    mac.locator("input[name=label]").evaluate("e => e.removeAttribute('maxlength')")
    mac.locator("input[name=label]").fill("x" * 65)
    mac.locator("details.label-machine button").click()
    assert "at most 64 characters" in page.locator("p.flash.err").inner_text()
    with sqlite3.connect(portal.server.data_dir / "licentia.db") as db:
        query = "SELECT actor, details FROM audit_entries WHERE action = 'portal.label_machine'"
        audited = db.execute(query).fetchall()
    assert [(actor, json.loads(details)["label"]) for actor, details in audited] == [(f"customer:{ANN}", "Studio iMac")]


def test_customer_signs_in_frees_machines_up_to_the_limit_downloads_and_sees_only_their_own(
    portal: Portal, page: Any, tmp_path: Path
) -> None:
    url = portal.server.url
    # Two seats, both in use below: a seat freed and taken on another computer is a move.
    listed = portal.server.cli("license", "list", "--prefix", portal.ann_key[:5]).stdout
    assert portal.server.cli("license", "terms", listed.split()[0], "--set", "max_devices=2").returncode == 0
    ann_apps = [portal.machine(f"ann-{i}") for i in range(2)]
    for app in ann_apps:
        assert app.check("/v1/activate", key=portal.ann_key)["status"] == "registered"
    bob_app = portal.machine("bob-1")
    assert bob_app.check("/v1/activate", key=portal.bob_key)["status"] == "registered"

    _sign_in(page, portal)
    assert "2 of 2 used" in page.locator("article.license .seats").inner_text()
    assert _fits_the_phone(page)
    page.click("article.license a.button")
    page.wait_for_selector("#machines")
    assert _fits_the_phone(page)
    page.screenshot(path=str(tmp_path.parent / "portal-license.png"), full_page=True)

    # Three transfers in 30 days: free a machine, move to a new one, three times.
    for n in range(3):
        page.locator("form.free input[name=reason]").first.fill(f"new computer {n}")
        page.locator("form.free button").first.click()
        assert "seat is free" in page.locator("p.flash.ok").inner_text()
        new_app = portal.machine(f"ann-new-{n}")
        assert new_app.check("/v1/activate", key=portal.ann_key)["status"] == "registered"
        page.reload()
    assert "0 left now, the next from" in page.locator("#transfers").inner_text()
    # Freeing still works; taking the seat on a fourth new computer is refused, with when it may move again.
    page.locator("form.free input[name=reason]").first.fill("one more")
    page.locator("form.free button").first.click()
    assert "seat is free" in page.locator("p.flash.ok").inner_text()
    assert "1 of 2 used" in page.locator(".seats").inner_text()
    refused = portal.machine("ann-new-3").call("/v1/activate", key=portal.ann_key)
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "transfer_limit"
    # A freed installation learns it at its next check (the newest machine was freed each time).
    assert "trial" in [app.check()["status"] for app in ann_apps]

    with page.expect_download() as download:
        page.click("a.download")
    with zipfile.ZipFile(download.value.path()) as bundle:  # the installer with its own ticket beside it
        assert bundle.read("my-app-2.0.zip") == b"PK release 2.0" and "licentia-ticket.json" in bundle.namelist()

    bob_license = portal.server.cli("license", "list").stdout
    bob_id = next(line.split()[0] for line in bob_license.splitlines() if portal.bob_key[:5] in line)
    page.goto(f"{url}/portal/licenses/{bob_id}")
    assert "no such license in your account" in page.locator("#reason").inner_text()
    assert bob_app.check()["status"] == "registered"


def test_every_portal_page_passes_axe_at_both_widths(portal: Portal, page: Any) -> None:
    axe_source = load_axe()
    if axe_source is None:
        pytest.skip("npm is not installed: accessibility (axe-core from npm) not checked")
    app = portal.machine("axe-1")
    assert app.check("/v1/activate", key=portal.ann_key)["status"] == "registered"
    url = portal.server.url
    page.goto(url + "/portal/signin")
    signed_out = {"/portal/signin": axe_faults(page, axe_source)}
    _sign_in(page, portal)
    license_page = page.locator("article.license a.button").first.get_attribute("href")
    faults = {}
    for width in (WIDE, PHONE):
        page.set_viewport_size({"width": width, "height": 900})
        for path in ("/portal", license_page, "/portal/offline", "/portal/licenses/999999"):
            page.goto(url + path)
            found = axe_faults(page, axe_source)
            if found:
                faults[f"{path} at {width} px"] = found
    assert not signed_out["/portal/signin"] and not faults, (signed_out, faults)
