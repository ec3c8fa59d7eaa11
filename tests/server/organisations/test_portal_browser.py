"""An organisation end to end: made by ``licentia org`` against a real ``licentia serve``, its invitation emailed
through a real SMTP server, accepted in Chromium; the invitation and organisation pages pass axe at both widths."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.server.admin_browser.conftest import PHONE, WIDE, load_axe
from tests.server.admin_browser.test_every_page import axe_faults
from tests.server.portal.test_portal_browser import ANN, BOB, Portal, _cli, _sign_in, page, portal

pytestmark = [pytest.mark.browser, pytest.mark.slow]
__all__ = ["page", "portal"]  # the portal's fixtures: a real server, SMTP server and Chromium


def _invitation(portal: Portal) -> str:
    import re

    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        for message in portal.smtp.messages:  # type: ignore[attr-defined]
            if ANN in str(message["To"]) and "invited" in str(message["Subject"]):
                text = message.get_body(preferencelist=("plain",)).get_content()
                found = re.search(r"https?://\S+/portal/invitation\?token=\S+", text)
                assert found, text
                return found.group(0)
        time.sleep(0.1)
    raise AssertionError("no invitation emailed")


def test_an_owner_accepts_in_a_browser_and_manages_the_organisation(portal: Portal, page: Any) -> None:
    data_dir = portal.server.data_dir
    assert "organisation #1 created" in _cli(data_dir, "org", "create", "Blue Studio", "--owner", ANN)
    assert "belongs to organisation #1" in _cli(data_dir, "org", "attach", "1", "2")  # Bob's license, the team's
    link = _invitation(portal)
    _sign_in(page, portal, nth=2)  # her second email: the invitation came first
    # The CLI names the server by LICENTIA_PUBLIC_URL, unset here: the link's path on this server.
    page.goto(portal.server.url + link[link.index("/portal/") :])
    axe_source = load_axe()
    faults = {}
    if axe_source is not None:
        faults["invitation"] = axe_faults(page, axe_source)
    page.click("text=Accept and join Blue Studio")
    page.wait_for_selector("#members")
    assert "you are owner" in page.inner_text("h1")
    assert BOB not in page.inner_text("#members")  # the buyer of a license is no member by buying it
    page.fill("#invite input[name=email]", "dana@blue.example")
    page.click("#invite button[type=submit]")
    page.wait_for_selector("text=Invitation sent to dana@blue.example.")
    if axe_source is not None:
        for width in (WIDE, PHONE):
            page.set_viewport_size({"width": width, "height": 900})
            page.goto(portal.server.url + "/portal/organisations/1")
            faults[f"organisation at {width} px"] = axe_faults(page, axe_source)
            page.goto(portal.server.url + "/portal")
            faults[f"home at {width} px"] = axe_faults(page, axe_source)
    assert not any(faults.values()), faults
    shown = _cli(data_dir, "org", "show", "1")
    assert f"owner\t{ANN}\tjoined" in shown and "member\tdana@blue.example\tinvited" in shown
