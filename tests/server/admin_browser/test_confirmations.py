"""Destructive and security-changing actions in Chromium: each asks first, and the server checks that it did.

A confirmation the browser alone enforces (``required``) is skipped by a
script, an old tab or a forged form, so each test also strips it and posts.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import LiveServer

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def page(admin_page: Any) -> Any:
    return admin_page


def _unrequire(page: Any, form: str) -> None:
    page.eval_on_selector_all(f"{form} [required]", "fields => fields.forEach(f => f.removeAttribute('required'))")


def _a_trial_device(page: Any, url: str) -> str:
    page.goto(url + "/admin/devices?status=trial")
    href = page.locator("#results tbody tr a[href^='/admin/devices/']").first.get_attribute("href")
    page.goto(url + href)
    return url + href


def test_the_device_page_offers_actions_for_its_state_each_confirmed_with_a_reason(
    page: Any, demo_server: LiveServer
) -> None:
    device = _a_trial_device(page, demo_server.url)
    actions = page.locator("#actions")
    assert actions.locator("select[name=status]").count() == 0  # no select starting on another status
    assert actions.locator("#end-trial summary").inner_text().startswith("End trial")
    assert actions.locator("#block").count() == 1 and actions.locator("#unblock").count() == 0

    # Without a reason, nothing changes and the form says why beside its field.
    page.click("#end-trial summary")
    _unrequire(page, "#end-trial form")
    page.click("#end-trial button[type=submit]")
    assert "Give a reason" in page.locator("#end-trial-error").inner_text()
    assert page.locator("h1 .pill").first.inner_text() == "trial"

    page.fill("#end-trial input[name=reason]", "asked to stop the trial")
    page.click("#end-trial button[type=submit]")
    page.wait_for_url(device)
    assert "Trial ended" in page.locator("p.flash.ok").inner_text()
    assert page.locator("h1 .pill").first.inner_text() == "trial expired"
    assert page.locator("#end-trial").count() == 0 and page.locator("#extend-trial").count() == 1

    page.click("#block summary")
    page.fill("#block input[name=reason]", "chargeback")
    page.click("#block button[type=submit]")
    assert page.locator("h1 .pill").first.inner_text() == "blocked"
    assert page.locator("#block").count() == 0 and page.locator("#extend-trial").count() == 0
    assert page.locator("#unblock summary").inner_text().startswith("Unblock")
    page.click("#unblock summary")
    page.fill("#unblock input[name=reason]", "chargeback withdrawn")
    page.click("#unblock button[type=submit]")
    assert "Block lifted" in page.locator("p.flash.ok").inner_text()
    assert page.locator("h1 .pill").first.inner_text() == "trial expired"  # its trial was ended above
    assert "Reason: chargeback withdrawn" in page.locator("#history").inner_text()


def test_webhook_new_secret_and_delete_need_the_box_ticked(page: Any, demo_server: LiveServer) -> None:
    url = demo_server.url
    page.goto(url + "/admin/webhooks")
    page.fill("input[name=url]", "https://hooks.vendor.example/confirm")
    page.click("form.hook-form button[type=submit]")
    # The new endpoint's page answers the form, showing its secret this once.
    here = url + "/admin/webhooks/" + page.locator("h1").inner_text().removeprefix("Webhook #")
    first_secret = page.locator("#webhook-secret").inner_text()

    for action in ("rotate", "delete"):
        page.click(f"#{action} summary")
        _unrequire(page, f"#{action} form")
        page.click(f"#{action} button[type=submit]")
        page.wait_for_url(here)
        assert "tick the box to confirm" in page.locator("p.flash.err").inner_text()
        assert page.locator("#webhook-secret").count() == 0  # no new secret made

    page.click("#rotate summary")
    page.check("#rotate input[name=confirm]")
    page.click("#rotate button[type=submit]")
    assert page.locator("#webhook-secret").inner_text() not in ("", first_secret)

    page.goto(here)
    page.click("#delete summary")
    page.check("#delete input[name=confirm]")
    page.click("#delete button[type=submit]")
    page.wait_for_url(url + "/admin/webhooks")
    assert "Endpoint deleted." in page.locator("p.flash.ok").inner_text()
    assert page.locator("#webhooks a[href='" + here.removeprefix(url) + "']").count() == 0


def test_removing_an_admin_needs_the_box_ticked(page: Any, demo_server: LiveServer) -> None:
    page.goto(demo_server.url + "/admin/admins")
    page.fill("input[name=email]", "leaving@vendor.example")
    page.fill("input[name=password]", "a long enough password")
    page.click("form.row button[type=submit]")
    row = page.locator("tr[data-email='leaving@vendor.example']")
    row.locator("details.confirm summary").click()
    _unrequire(page, "tr[data-email='leaving@vendor.example'] form")
    row.locator("details.confirm button[type=submit]").click()
    assert "tick the box to confirm" in page.locator("p.flash.err").inner_text()
    assert row.count() == 1

    row.locator("details.confirm summary").click()
    row.locator("input[name=confirm]").check()
    row.locator("details.confirm button[type=submit]").click()
    assert "Admin removed." in page.locator("p.flash.ok").inner_text()
    assert row.count() == 0
