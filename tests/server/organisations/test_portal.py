"""The portal's organisations: invitations accepted by the invited address only, roles, and two organisations
that never see each other's licenses, machines or members (real SMTP server, real database)."""

from __future__ import annotations

import html
import re
import time
from typing import Any

import sqlalchemy as sa

from licentia.server.store.tables import audit_entries, devices
from tests.server.admin_fixtures import form_token
from tests.server.helpers import Installation
from tests.server.notify.conftest import SmtpServer
from tests.server.organisations.conftest import invitation_link
from tests.server.portal.conftest import ask_for_link, follow_link, issue, link_in

OLGA, DANA, MIKE, RITA = "olga@blue.example", "dana@blue.example", "mike@blue.example", "rita@red.example"


def mails_to(smtp: SmtpServer, to: str, words: str) -> list[Any]:
    return [m for m in smtp.messages if to in str(m["To"]) and words in str(m["Subject"])]


def sign_in_as(client: Any, smtp: SmtpServer, email: str) -> None:
    """A fresh session of ``email``, signed in by its own emailed link (the newest one)."""
    client.cookies.clear()
    before = len(mails_to(smtp, email, "sign-in link"))
    assert ask_for_link(client, email).status_code == 200
    deadline = time.monotonic() + 10
    while len(mails_to(smtp, email, "sign-in link")) <= before:
        assert time.monotonic() < deadline, f"no sign-in link for {email}"
        time.sleep(0.05)
    answer = follow_link(client, link_in(mails_to(smtp, email, "sign-in link")[-1]))
    assert answer.status_code == 303, answer.text


def newest_invitation(smtp: SmtpServer, email: str) -> str:
    deadline = time.monotonic() + 10
    while not mails_to(smtp, email, "invited"):
        assert time.monotonic() < deadline, f"no invitation to {email}"
        time.sleep(0.05)
    return invitation_link(smtp, email, len([m for m in smtp.messages if email in str(m["To"])]))


def open_invitation(client: Any, link: str) -> Any:
    return client.get(link[link.index("/portal/") :])


def accept(client: Any, link: str) -> Any:
    page = open_invitation(client, link)
    token = re.search(r'name="token" value="([^"]+)"', page.text)
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert token and csrf, page.text
    return client.post("/portal/invitation", data={"token": token.group(1), "csrf": csrf.group(1)})


class Said:
    """A page after a post: its status and its text as read (entities unescaped)."""

    def __init__(self, response: Any) -> None:
        self.status_code = response.status_code
        self.text = html.unescape(response.text)


def post(client: Any, path: str, page: str, **data: str) -> Said:
    """A form posted from ``page`` (its CSRF token), redirects followed."""
    return Said(client.post(path, data={**data, "csrf": form_token(client.get(page).text)}))


def make_org(client: Any, auth: dict[str, str], name: str, owner: str) -> int:
    made = client.post("/v1/admin/organisations", json={"name": name, "owner_email": owner}, headers=auth)
    assert made.status_code == 201, made.text
    return int(made.json()["id"])


def test_an_invitation_joins_only_its_address_once_and_before_it_expires(client, engine, clock, smtp, auth) -> None:
    blue = make_org(client, auth, "Blue", OLGA)
    link = newest_invitation(smtp, OLGA)
    assert "sign in with this email address" in mails_to(smtp, OLGA, "invited")[0].get_body(("plain",)).get_content()
    anonymous = open_invitation(client, link)
    assert anonymous.status_code == 200 and "Sign in with olga@blue.example first" in anonymous.text

    sign_in_as(client, smtp, OLGA)  # an invited address may sign in before it holds any license
    joined = accept(client, link)
    assert joined.status_code == 200 and "Blue" in joined.text and "you are owner" in joined.text
    reused = open_invitation(client, link)
    assert reused.status_code == 410 and "already used" in reused.text

    post(client, f"/portal/organisations/{blue}/invite", f"/portal/organisations/{blue}", email=DANA, role="admin")
    dana_link = newest_invitation(smtp, DANA)
    other = open_invitation(client, dana_link)  # Olga, signed in, opens Dana's invitation
    assert "You are signed in as olga@blue.example" in other.text and 'name="token"' not in other.text
    token = re.search(r"token=(\S+)", dana_link).group(1)  # type: ignore[union-attr]
    from urllib.parse import unquote

    stolen = client.post(
        "/portal/invitation", data={"token": unquote(token), "csrf": form_token(client.get("/portal").text)}
    )
    assert stolen.status_code == 403 and "another email address" in stolen.text
    sign_in_as(client, smtp, DANA)
    assert "you are admin" in accept(client, dana_link).text  # still valid: the refusal spent nothing

    post(client, f"/portal/organisations/{blue}/invite", f"/portal/organisations/{blue}", email=MIKE)
    mike_link = newest_invitation(smtp, MIKE)
    clock.advance(days=8)
    sign_in_as(client, smtp, MIKE)
    expired = open_invitation(client, mike_link)
    assert expired.status_code == 410 and "expired" in expired.text
    with engine.connect() as conn:
        joins = (
            conn.execute(
                sa.select(audit_entries.c.actor)
                .where(audit_entries.c.action == "organisation.join")
                .order_by(audit_entries.c.id)
            )
            .scalars()
            .all()
        )
    assert joins == [f"customer:{OLGA}", f"customer:{DANA}"]


def _blue_and_red(client: Any, engine: Any, clock: Any, smtp: SmtpServer, auth: dict[str, str], product: Any) -> Any:
    """Blue (Olga owner, Dana admin, Mike member) and Red (Rita owner), each with a license on one machine."""
    blue, red = make_org(client, auth, "Blue", OLGA), make_org(client, auth, "Red", RITA)
    links = {OLGA: newest_invitation(smtp, OLGA), RITA: newest_invitation(smtp, RITA)}
    for who, role in ((DANA, "admin"), (MIKE, "member")):
        client.post(f"/v1/admin/organisations/{blue}/members", json={"email": who, "role": role}, headers=auth)
        links[who] = newest_invitation(smtp, who)
    for who, link in links.items():
        sign_in_as(client, smtp, who)
        assert accept(client, link).status_code == 200
    licenses = {}
    for org, tag in ((blue, "b"), (red, "r")):
        lic = issue(engine, clock, f"buyer-{tag}@shop.example", max_devices=5)
        client.put(f"/v1/admin/organisations/{org}/licenses/{lic.id}", headers=auth)
        app = Installation(client, product.public_key, machine=f"{tag}m", disk=f"{tag}d", mac=f"{tag}n")
        app.check()
        assert app.check("/v1/activate", key=lic.key)["status"] == "registered"
        licenses[org] = (lic, app)
    return blue, red, licenses


def machine_of(engine: Any, license_id: int) -> str:
    with engine.connect() as conn:
        return str(conn.execute(sa.select(devices.c.machine_id).where(devices.c.license_id == license_id)).scalar())


def test_two_organisations_never_see_each_other(client, engine, clock, smtp, auth, product) -> None:
    blue, red, licenses = _blue_and_red(client, engine, clock, smtp, auth, product)
    blue_lic, red_lic = licenses[blue][0], licenses[red][0]
    own = issue(engine, clock, OLGA)  # a license of her own reaches no other license
    red_machine = machine_of(engine, red_lic.id)
    for who in (OLGA, DANA, MIKE):
        sign_in_as(client, smtp, who)
        home = client.get("/portal").text
        assert (f"license-{own.id}" in home) is (who == OLGA)
        assert "Blue" in home and f"license-{blue_lic.id}" in home
        assert "Red" not in home and f"license-{red_lic.id}" not in home
        assert client.get(f"/portal/organisations/{red}").status_code == 404
        assert client.get(f"/portal/licenses/{red_lic.id}").status_code == 404
        freed = post(client, f"/portal/licenses/{red_lic.id}/machines/{red_machine}/free", "/portal", reason="not mine")
        assert freed.status_code == 404
        assert post(client, f"/portal/organisations/{red}/invite", "/portal", email="x@blue.example").status_code == 404
    assert machine_of(engine, red_lic.id) == red_machine  # still holds its seat
    sign_in_as(client, smtp, RITA)
    page = client.get(f"/portal/organisations/{red}").text
    assert RITA in page and OLGA not in page and DANA not in page
    assert client.get(f"/portal/organisations/{blue}").status_code == 404


def test_members_read_and_owners_and_admins_manage(client, engine, clock, smtp, auth, product) -> None:
    blue, _red, licenses = _blue_and_red(client, engine, clock, smtp, auth, product)
    lic = licenses[blue][0]
    machine = machine_of(engine, lic.id)
    page = f"/portal/licenses/{lic.id}"

    sign_in_as(client, smtp, MIKE)  # a member: reads the license, changes nothing, sees no member list
    seen = client.get(page).text
    assert "you see it as a member" in seen and "Free this seat" not in seen
    refused = post(client, f"{page}/machines/{machine}/free", page, reason="new computer")
    assert "only the organisation's owners and admins" in refused.text
    assert machine_of(engine, lic.id) == machine
    org_page = client.get(f"/portal/organisations/{blue}").text
    assert 'id="members"' not in org_page
    said = post(client, f"/portal/organisations/{blue}/invite", f"/portal/organisations/{blue}", email="z@blue.example")
    assert "only the organisation's owners and admins" in said.text

    sign_in_as(client, smtp, DANA)  # an admin: manages machines and members, never an owner
    org = f"/portal/organisations/{blue}"
    demote = post(client, f"{org}/members/role", org, email=OLGA, role="member")
    assert "an admin does not change an owner" in demote.text
    assert (
        "only an owner names another owner"
        in post(client, f"{org}/invite", org, email="z@blue.example", role="owner").text
    )
    assert f"{MIKE} is now admin." in post(client, f"{org}/members/role", org, email=MIKE, role="admin").text
    freed = post(client, f"{page}/machines/{machine}/free", page, reason="new computer")
    assert "The machine's seat is free" in freed.text

    sign_in_as(client, smtp, OLGA)  # the only owner: keeps the organisation's ownership
    assert "make someone else owner first" in post(client, f"{org}/leave", org).text
    assert f"{DANA} is now owner." in post(client, f"{org}/members/role", org, email=DANA, role="owner").text
    assert "You left the organisation." in post(client, f"{org}/leave", org).text
    assert client.get(org).status_code == 404
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(audit_entries.c.action, audit_entries.c.actor)
            .where(audit_entries.c.action.in_(["organisation.role", "organisation.leave", "portal.free_machine"]))
            .order_by(audit_entries.c.id)
        ).all()
    assert [tuple(r) for r in rows] == [
        ("organisation.role", f"customer:{DANA}"),
        ("portal.free_machine", f"customer:{DANA}"),
        ("organisation.role", f"customer:{OLGA}"),
        ("organisation.leave", f"customer:{OLGA}"),
    ]
