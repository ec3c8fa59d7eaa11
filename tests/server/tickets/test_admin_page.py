"""The admin UI's installer tickets: minted as a file to download, listed with installations and copies."""

from __future__ import annotations

import json
from typing import Any

import pytest

from licentia.server.licenses.service import issue_license
from tests.server.admin_fixtures import csrf_of, make_admin, sign_in
from tests.server.helpers import Installation


@pytest.fixture
def admin(client: Any, engine: Any, clock: Any) -> Any:
    make_admin(engine, clock)
    sign_in(client)
    return client


def test_staff_mint_a_ticket_file_and_see_its_copies_listed(admin, engine, clock, product):
    with engine.begin() as conn:
        lic = issue_license(conn, product="acme", email="buyer@example.com", now=clock.now())
    minted = admin.post("/admin/tickets", data={"csrf": csrf_of(admin), "product": "acme", "license_id": str(lic.id)})
    assert minted.status_code == 200 and 'filename="licentia-ticket.json"' in minted.headers["content-disposition"]
    document = json.loads(minted.content)["document"]
    assert document["license"] == lic.id and document["source"] == "vendor"

    for name in ("buyer", "pirate"):
        Installation(admin, product.public_key, machine=name, disk=name, mac=name).check(installer_ticket=minted.text)
    page = admin.get("/admin/tickets?product=acme").text
    assert document["ticket"] in page and f'href="/admin/licenses/{lic.id}"' in page
    row = page[page.index(document["ticket"]) :].split("</tr>")[0]
    assert "<td>2</td>" in row and "<b>1</b>" in row  # two installations, one of them a copy
    assert "Installer tickets" in admin.get("/admin/releases").text

    refused = admin.post("/admin/tickets", data={"csrf": csrf_of(admin), "product": "acme", "release": "9.9"})
    assert refused.status_code == 200 and "has no release" in refused.text  # back to the page, saying why
    bad = admin.post("/admin/tickets", data={"csrf": csrf_of(admin), "product": "acme", "customer_id": "x1"})
    assert "by its number" in bad.text
    assert admin.post("/admin/tickets", data={"product": "acme"}).status_code == 403  # no CSRF token
