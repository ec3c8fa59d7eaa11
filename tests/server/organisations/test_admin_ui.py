"""The admin UI's Organisations area: create, invite (emailed), roles, remove and detach behind a confirmation,
attach a license; every change audited with the admin; a viewer changes nothing."""

from __future__ import annotations

import html
import re
from typing import Any

from licentia.server.auth.accounts import create_admin
from tests.server.admin_fixtures import PASSWORD, csrf_of, make_admin, sign_in
from tests.server.organisations.conftest import audit_actions, invitation_link
from tests.server.portal.conftest import issue

OLGA, DANA = "olga@team.example", "dana@team.example"


def post(client: Any, path: str, **data: str) -> str:
    answer = client.post(path, data={**data, "csrf": csrf_of(client)})
    assert answer.status_code == 200, answer.text
    return html.unescape(answer.text)


def test_an_organisation_from_the_admin_ui(client, engine, clock, smtp, product) -> None:
    make_admin(engine, clock)
    assert sign_in(client).status_code == 303
    page = post(client, "/admin/organisations", name="Team Blue", owner=OLGA)
    assert "Organisation created." in page and "Team Blue" in page and "invited" in page
    org = int(re.search(r"organisation #(\d+)", page).group(1))  # type: ignore[union-attr]
    here = f"/admin/organisations/{org}"
    assert "/portal/invitation?token=" in invitation_link(smtp, OLGA)
    assert f'href="{here}"' in client.get("/admin/organisations", params={"q": "blue"}).text

    assert "Invitation sent to dana@team.example." in post(client, f"{here}/invite", email=DANA, role="admin")
    assert f"{DANA} is now member." in post(client, f"{here}/role", email=DANA, role="member")
    assert "owner, admin or member" in post(client, f"{here}/role", email=DANA, role="boss")
    assert "tick the box" in post(client, f"{here}/remove?email={DANA}")
    assert f"{DANA} removed." in post(client, f"{here}/remove?email={DANA}", confirm="yes")
    lic = issue(engine, clock, "buyer@shop.example")
    assert f"License {lic.id} attached." in post(client, f"{here}/attach", license_id=str(lic.id), confirm="yes")
    assert f'href="/admin/licenses/{lic.id}"' in client.get(here).text
    assert f'href="{here}" id="organisation"' in client.get(f"/admin/licenses/{lic.id}").text
    assert f"License {lic.id} detached." in post(client, f"{here}/detach?license_id={lic.id}", confirm="yes")
    assert "Renamed." in post(client, f"{here}/rename", name="Team Navy")
    assert client.get("/admin/organisations/9999").status_code == 404

    actions = [(action, actor) for action, actor, _ in audit_actions(engine)]
    admin = "admin:ann@vendor.example"
    assert actions == [
        ("organisation.create", admin),
        ("organisation.invite", admin),
        ("organisation.invite", admin),
        ("organisation.role", admin),
        ("organisation.remove", admin),
        ("organisation.license", admin),
        ("organisation.license", admin),
        ("organisation.rename", admin),
    ]
    audit = html.unescape(client.get("/admin/audit").text)
    assert "Invited dana@team.example to organisation" in audit and "Renamed organisation" in audit

    with engine.begin() as conn:
        create_admin(conn, email="vic@vendor.example", password=PASSWORD, actor="test", now=clock.now(), role="viewer")
    client.cookies.clear()
    assert sign_in(client, "vic@vendor.example").status_code == 303
    assert "Team Navy" in client.get(here).text
    refused = client.post(f"{here}/invite", data={"email": "x@team.example", "role": "member", "csrf": csrf_of(client)})
    assert refused.status_code == 403
