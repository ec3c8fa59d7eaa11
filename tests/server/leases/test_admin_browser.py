"""The license page's floating leases in a real browser (Debian's Chromium, headless; HTMX loads the section)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import LiveServer
from tests.server.helpers import auth, fingerprint
from tests.server.test_admin_browser import EMAIL, PASSWORD, _cli, _sign_in, page  # noqa: F401 (the page fixture)

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def floating_server(tmp_path: Path) -> Iterator[tuple[LiveServer, str]]:
    data_dir = tmp_path / "server"
    _cli(data_dir, "admin", "create", EMAIL, "--password-stdin", stdin=PASSWORD + "\n")
    server = LiveServer(data_dir).start()  # its first start makes the product my-app
    made = server.cli("policy", "create", "my-app", "Studio", "--set", "kind=floating", "--set", "max_devices=3")
    assert made.returncode == 0, made.stderr
    issued = server.cli("license", "issue", "--product", "my-app", "--email", "it@studio.example", "--policy", "Studio")
    assert issued.returncode == 0, issued.stderr
    yield server, issued.stdout.strip()
    server.stop()


def test_the_license_page_lists_leases_and_frees_a_seat(floating_server: Any, page: Any, tmp_path: Path) -> None:  # noqa: F811
    server, key = floating_server
    with httpx.Client(base_url=server.url, timeout=60) as http:
        body = {"product": "my-app", "fingerprint": fingerprint("my-app", machine="studio-1")}
        credential = json.loads(http.post("/v1/check", json=body).content)["credential"]
        lease = http.post("/v1/leases", json={"product": "my-app", "key": key}, headers=auth(credential)).json()[
            "lease"
        ]
    _sign_in(page, server.url, PASSWORD)
    page.goto(server.url + "/admin/licenses")
    page.locator("table.list tbody a").first.click()
    page.wait_for_selector(f"#leases code:has-text('{lease}')")  # loaded by HTMX into the page
    assert "1 machine holds a seat" in page.locator("#leases").text_content()
    page.screenshot(path=str(tmp_path / "license-leases.png"), full_page=True)
    page.click("#leases button:has-text('free seat')")
    assert "its seat is free" in page.locator("p.flash.ok").inner_text()
    page.wait_for_selector("#leases .pill-force_released")
    assert "0 machines hold a seat" in page.locator("#leases").text_content()
