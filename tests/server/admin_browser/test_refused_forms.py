"""A refused form in Chromium, one way everywhere: back with what was typed, the message beside its field, a summary."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import LiveServer

pytestmark = [pytest.mark.browser, pytest.mark.slow]
LONG_URL = "https://hooks.vendor.example/" + "a" * (5000 - len("https://hooks.vendor.example/"))


def _refused_beside(page: Any, form: str, field: str) -> str:
    """The message beside ``field``, after checking the summary above ``form`` says the same."""
    message = page.locator(f"{form} #{field}-error").inner_text()
    assert message in page.locator(f"{form} #form-errors").inner_text()
    assert page.locator(f"{form} [name={field}]").get_attribute("aria-invalid") == "true"
    return str(message)


def _unlimit(page: Any) -> None:
    # The browser's own limits only advise; the server's are the rule.
    page.eval_on_selector_all("[maxlength]", "els => els.forEach(e => e.removeAttribute('maxlength'))")


def test_webhook_add_keeps_what_was_typed_and_says_the_url_limit(admin_page: Any, demo_server: LiveServer) -> None:
    page = admin_page
    page.goto(demo_server.url + "/admin/webhooks")
    _unlimit(page)
    page.fill("input[name=url]", LONG_URL)
    page.fill("input[name=description]", "CRM sync")
    page.check("input[name=event][value='license.created']")
    page.uncheck("input[name=all_events]")
    page.click("form.hook-form button[type=submit]")
    assert "at most 2,000 characters" in _refused_beside(page, "#add-webhook", "url")
    assert page.input_value("input[name=url]") == LONG_URL
    assert page.input_value("input[name=description]") == "CRM sync"
    assert page.is_checked("input[name=event][value='license.created']")
    assert not page.is_checked("input[name=all_events]")


def test_release_publish_takes_semver_and_pep440_and_keeps_a_refused_version(
    admin_page: Any, demo_server: LiveServer
) -> None:
    page = admin_page

    def publish(**fields: str) -> None:
        page.goto(demo_server.url + "/admin/releases")
        page.locator("#publish[open]").count() or page.click("#publish summary")
        for name, value in fields.items():
            page.fill(f"#publish [name={name}]", value)
        page.click("#publish button[type=submit]")

    for version in ("3.0.0-nightly", "2.5rc1"):
        publish(version=version, channel="nightly")
        assert f"Version {version} published." in page.locator("p.flash.ok").inner_text()
    publish(version="three", notes="what changed")
    assert "is not a version" in _refused_beside(page, "#publish", "version")
    assert page.input_value("input[name=version]") == "three"
    assert page.input_value("textarea[name=notes]") == "what changed"


def test_payment_mapping_and_add_admin_keep_what_was_typed(admin_page: Any, demo_server: LiveServer) -> None:
    page = admin_page
    page.goto(demo_server.url + "/admin/payments")
    page.fill("#add-mapping input[name=external_id]", "price with spaces")
    page.fill("#add-mapping input[name=features]", "pro, export")
    page.click("#add-mapping button[type=submit]")
    assert "no spaces" in _refused_beside(page, "#mappings", "external_id")
    assert page.input_value("#add-mapping input[name=external_id]") == "price with spaces"
    assert page.input_value("#add-mapping input[name=features]") == "pro, export"
    # The license type is picked by its name, not typed as an id; the list names it too.
    product = page.input_value("#add-mapping select[name=product]")
    kind = page.locator(f"#add-mapping select[name=policy_id] optgroup[label='{product}'] option").first
    name = kind.inner_text()
    page.select_option("#add-mapping select[name=policy_id]", kind.get_attribute("value"))
    page.fill("#add-mapping input[name=external_id]", "price_1Q2w")
    page.click("#add-mapping button[type=submit]")
    assert "Mapping added." in page.locator("p.flash.ok").inner_text()
    assert f"{product}: {name}" in page.locator("#mappings table").inner_text()

    page.goto(demo_server.url + "/admin/admins")
    page.fill("#add-admin input[name=email]", "short@vendor.example")
    page.fill("#add-admin input[name=password]", "short")
    page.eval_on_selector("#add-admin input[name=password]", "e => e.removeAttribute('minlength')")
    page.select_option("#add-admin select[name=role]", "staff")
    page.click("#add-admin button[type=submit]")
    assert "at least" in _refused_beside(page, "#add-admin", "password")
    assert page.input_value("#add-admin input[name=email]") == "short@vendor.example"
    assert page.input_value("#add-admin input[name=password]") == ""  # a password is never sent back
    assert page.input_value("#add-admin select[name=role]") == "staff"
