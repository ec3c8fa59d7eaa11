"""Errors in a real browser: a page in the admin UI's frame with a way back, never a raw JSON body."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import LiveServer

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def page(admin_page: Any) -> Any:
    return admin_page


def test_a_bad_id_in_the_address_is_a_page_leading_back_to_its_list(page: Any, demo_server: LiveServer) -> None:
    url = demo_server.url
    answer = page.goto(url + "/admin/licenses/abc")
    assert answer.status == 422 and "text/html" in answer.headers["content-type"]
    assert "'abc' is not a valid license id" in page.locator("#reason").inner_text()
    assert page.locator("header nav a.active").inner_text() == "Licenses"
    page.click("#back")
    page.wait_for_url(url + "/admin/licenses")
    # The evidence report's "signed JSON" link of a license that does not exist: a page too.
    answer = page.goto(url + "/admin/licenses/999999/evidence?format=json")
    assert answer.status == 404 and page.locator("h1").inner_text() == "Not found"


def test_an_upload_too_large_is_a_page_not_a_json_body(page: Any, demo_server: LiveServer, tmp_path: Path) -> None:
    big = tmp_path / "activation-request.txt"
    big.write_text("x" * (256 * 1024 + 1))  # over the server's default LICENTIA_MAX_BODY_BYTES
    page.goto(demo_server.url + "/admin/offline")
    page.set_input_files("#activate input[name=request]", str(big))
    with page.expect_navigation() as navigation:
        page.click("#activate button[type=submit]")
    assert navigation.value.status == 413
    assert "larger than" in page.locator("#reason").inner_text()
    assert page.locator("#back").get_attribute("href") == "/admin/offline"
