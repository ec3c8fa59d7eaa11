"""The admin UI's license types: create, edit with plain labels and units, issue a license of one, see its seats."""

from __future__ import annotations

import re
from typing import Any

from tests.server.admin_fixtures import csrf_of, make_admin, sign_in
from tests.server.helpers import Installation


def _form(page: str) -> dict[str, str]:
    """The policy form's fields as a browser would submit them unchanged."""
    form = page[page.index('id="policy-form"') :]
    form = form[: form.index("</form>")]
    fields: dict[str, str] = {}
    for tag in re.findall(r"<input[^>]*>", form):
        name = re.search(r'name="([^"]+)"', tag)
        if name is None:
            continue
        if 'type="checkbox"' in tag:
            if "checked" in tag:
                fields[name.group(1)] = "on"
            continue
        value = re.search(r'value="([^"]*)"', tag)
        fields[name.group(1)] = value.group(1) if value else ""
    for name, options in re.findall(r'<select name="([^"]+)">(.*?)</select>', form, re.S):
        chosen = re.search(r'<option value="([^"]+)" selected>', options) or re.search(
            r'<option value="([^"]+)"', options
        )
        fields[name] = chosen.group(1) if chosen else ""
    for name, text in re.findall(r'<textarea name="([^"]+)"[^>]*>(.*?)</textarea>', form, re.S):
        fields[name] = text
    return fields


def test_a_vendor_makes_a_license_type_and_sells_it(client: Any, engine: Any, clock: Any, product: Any) -> None:
    make_admin(engine, clock)
    sign_in(client)
    csrf = csrf_of(client)
    made = client.post(
        f"/admin/products/{product.id}/policies", data={"csrf": csrf, "name": "Pro yearly", "copy_of": "Default"}
    )
    assert "License type created" in made.text
    page = made.text
    assert "Machines per license" in page and "Updates included for" in page and "days" in page
    assert "Trial length" not in page  # product-wide knobs live on the default type only
    fields = {
        **_form(page),
        "csrf": csrf,
        "max_devices": "2",
        "expiry_mode": "from_issue",
        "expiry_days": "365",
        "maintenance_days": "365",
        "entitlements": "export_pdf = true\nmax_projects = 10\nedition = pro\nbeta = true until 2027-01-31",
        "meters": "renders = 1000 per month",
    }
    saved = client.post(str(made.url).split("?")[0], data=fields)
    assert "License type saved" in saved.text, saved.text
    assert "max_projects = 10" in saved.text and "beta = true until 2027-01-31" in saved.text
    assert "renders = 1000 per month" in saved.text
    bad = client.post(str(made.url).split("?")[0], data={**fields, "meters": "renders = lots"})
    assert "meters, line 1" in bad.text and "renders = 1000 per month" in bad.text  # nothing changed

    product_page = client.get(f"/admin/products/{product.id}").text
    assert "Pro yearly" in product_page and "365 days after issue" in product_page

    issued = client.post(
        "/admin/licenses",
        data={"csrf": csrf, "product": "acme", "email": "ann@example.com", "policy": "Pro yearly"},
    )
    assert issued.status_code == 200
    found_key = re.search(r"[0-9A-Z]{5}(?:-[0-9A-Z]{5}){4}", issued.text)
    assert found_key is not None
    key = found_key.group(0)
    app = Installation(client, product.public_key)
    app.check()
    doc = app.check("/v1/activate", key=key)
    assert doc["entitlements"]["max_projects"]["value"] == 10 and doc["license"]["policy"] == "Pro yearly"
    found_id = re.search(r'/admin/licenses/(\d+)"', client.get("/admin/licenses").text)
    assert found_id is not None
    license_id = found_id.group(1)
    shown = client.get(f"/admin/licenses/{license_id}").text
    assert "Pro yearly" in shown and "Seat frees" in shown and "180 days unseen" in shown
    assert "2026-07-04" in shown  # the seat frees 180 days after the machine was last seen
    moved = client.post(
        f"/admin/licenses/{license_id}/terms", data={"csrf": csrf, "policy": "Default", "maintenance_forever": "on"}
    )
    assert "License terms changed" in moved.text and "every release" in moved.text
