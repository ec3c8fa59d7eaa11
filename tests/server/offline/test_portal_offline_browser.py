"""The portal's air-gapped activation in a real browser (Debian's Chromium) against a real server.

Ann signs in, uploads the request her offline computer wrote, downloads the
response and installs it there; she cannot use a request made with another
customer's key, nor the same request twice; and she frees the seat with the
computer's deactivation proof.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from licentia.client import Licentia
from tests.client.conftest import FakeMachine
from tests.server.portal.conftest import link_in, wait_for_mail
from tests.server.portal.test_portal_browser import ANN, Portal, page, portal  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _offline_computer(shop: Portal, tmp_path: Path, name: str) -> Licentia:
    machine = FakeMachine(tmp_path / f"{name}-hw", disk=name, mac="00:11:22:33:44:5" + name[-1])
    # Port 9 (discard) on loopback: nothing answers, as on a computer with no network.
    return Licentia(
        "http://127.0.0.1:9", "my-app", shop.server.public_key(), tmp_path / name, fingerprint_root=machine.root
    )


def _sign_in(shop: Portal, tab: Any) -> None:
    tab.goto(shop.server.url + "/portal")
    tab.fill("input[name=email]", ANN)
    tab.click("button[type=submit]")
    tab.wait_for_selector("#sent")
    tab.goto(link_in(wait_for_mail(shop.smtp, ANN)))  # type: ignore[attr-defined]
    tab.click("#continue")
    tab.wait_for_selector("article.license")


def test_customer_activates_an_offline_computer_and_gives_the_seat_back(
    portal: Portal,  # noqa: F811
    page: Any,  # noqa: F811
    tmp_path: Path,
) -> None:
    computer = _offline_computer(portal, tmp_path, "pc1")
    request_file = tmp_path / "request.txt"
    request_file.write_text(computer.activation_request(portal.ann_key))
    _sign_in(portal, page)

    page.click("nav a[href='/portal/offline']")
    page.wait_for_selector("form#activate")
    page.set_input_files("form#activate input[name=request]", str(request_file))
    with page.expect_download() as download:
        page.click("form#activate button")
    assert download.value.suggested_filename == "activation-response.lic"
    status = computer.install_activation(Path(download.value.path()).read_text())
    assert (status.allowed, status.state) == (True, "registered")
    assert computer.check(online=False).state == "registered"

    # The same request a second time: refused, on the page, with the reason.
    page.goto(portal.server.url + "/portal/offline")
    page.set_input_files("form#activate input[name=request]", str(request_file))
    page.click("form#activate button")
    assert "answered already" in page.locator("p.flash.err").inner_text()

    # A request made with Bob's key is not Ann's to activate (pasted this time).
    stranger = _offline_computer(portal, tmp_path, "pc2")
    page.fill("form#activate textarea[name=request_text]", stranger.activation_request(portal.bob_key))
    page.click("form#activate button")
    assert "not one of your licenses" in page.locator("p.flash.err").inner_text()

    page.goto(portal.server.url + "/portal")
    page.click("article.license a.button")
    assert "1 of 5 used" in page.locator(".seats").inner_text()

    proof_file = tmp_path / "proof.txt"
    proof_file.write_text(computer.deactivate_offline())
    page.goto(portal.server.url + "/portal/offline")
    page.set_input_files("form#deactivate input[name=proof]", str(proof_file))
    page.click("form#deactivate button")
    assert "seat is free again" in page.locator("p.flash.ok").inner_text()
    page.goto(portal.server.url + "/portal")
    page.click("article.license a.button")
    assert "0 of 5 used" in page.locator(".seats").inner_text()
