"""An organisation's owners and admins give, free and move the named-user seats of its licenses in the portal;
members see only the user licenses that name them (real SMTP server for sign-ins, real database)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from licentia.server.store.tables import audit_entries
from tests.server.organisations.test_portal import accept, make_org, newest_invitation, post, sign_in_as
from tests.server.users.conftest import user_type

OLGA, MIKE, NINA, ZOE, RITA = (
    "olga@blue.example", "mike@blue.example", "nina@blue.example", "zoe@blue.example", "rita@red.example",
)  # fmt: skip


def _blue_with_a_team_license(client: Any, engine: Any, clock: Any, smtp: Any, auth: dict[str, str]) -> Any:
    """Blue (Olga owner; Mike and Nina members) holds a "Team" license of 2 named users; Red (Rita) holds none."""
    from licentia.server.licenses.service import issue_license

    blue, red = make_org(client, auth, "Blue", OLGA), make_org(client, auth, "Red", RITA)
    links = {OLGA: newest_invitation(smtp, OLGA), RITA: newest_invitation(smtp, RITA)}
    for who in (MIKE, NINA):
        client.post(f"/v1/admin/organisations/{blue}/members", json={"email": who, "role": "member"}, headers=auth)
        links[who] = newest_invitation(smtp, who)
    for who, link in links.items():
        sign_in_as(client, smtp, who)
        assert accept(client, link).status_code == 200
    user_type(engine, clock)
    with engine.begin() as conn:
        team = issue_license(conn, product="acme", email="buyer@shop.example", policy="Team", now=clock.now())
    assert client.put(f"/v1/admin/organisations/{blue}/licenses/{team.id}", headers=auth).status_code == 200
    return blue, red, team


def test_owners_give_free_and_move_seats_and_members_see_only_what_names_them(
    client: Any, engine: Any, clock: Any, smtp: Any, auth: dict[str, str], product: Any
) -> None:
    blue, red, team = _blue_with_a_team_license(client, engine, clock, smtp, auth)
    org = f"/portal/organisations/{blue}"
    seats = f"{org}/licenses/{team.id}/users"

    sign_in_as(client, smtp, OLGA)
    assert "Nobody is named yet" in client.get(org).text
    assert f"{MIKE} holds a seat." in post(client, f"{seats}/assign", org, email=MIKE).text
    assert f"{NINA} holds a seat." in post(client, f"{seats}/assign", org, email=NINA).text
    full = post(client, f"{seats}/assign", org, email=ZOE)
    assert "every user seat of this license is taken (2 of 2)" in full.text
    assert "2 of 2 seats held" in client.get(org).text

    sign_in_as(client, smtp, MIKE)  # a member named on the license sees it, and changes nothing
    assert f"license-{team.id}" in client.get(org).text and client.get(f"/portal/licenses/{team.id}").status_code == 200
    refused = post(client, f"{seats}/free", org, email=NINA)
    assert "only the organisation's owners and admins" in refused.text

    sign_in_as(client, smtp, OLGA)
    assert f"{NINA}'s seat is free." in post(client, f"{seats}/free", org, email=NINA).text
    sign_in_as(client, smtp, NINA)  # no longer named: the license is not hers to see
    assert f"license-{team.id}" not in client.get(org).text
    assert client.get(f"/portal/licenses/{team.id}").status_code == 404

    sign_in_as(client, smtp, OLGA)
    assert f"{MIKE}'s seat is now {ZOE}'s." in post(client, f"{seats}/reassign", org, email=MIKE, to=ZOE).text
    page = client.get(org).text
    assert ZOE in page and "1 of 2 seats held" in page

    sign_in_as(client, smtp, RITA)  # another organisation's owner reaches none of it
    assert post(client, f"{seats}/assign", f"/portal/organisations/{red}", email=RITA).status_code == 404
    red_path = f"/portal/organisations/{red}/licenses/{team.id}/users/assign"
    said = post(client, red_path, f"/portal/organisations/{red}", email=RITA)
    assert "the organisation holds no such license" in said.text
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(audit_entries.c.action, audit_entries.c.actor)
            .where(audit_entries.c.action.like("license.user_%"))
            .order_by(audit_entries.c.id)
        ).all()
    assert [tuple(r) for r in rows] == [
        ("license.user_assign", f"customer:{OLGA}"),
        ("license.user_assign", f"customer:{OLGA}"),
        ("license.user_free", f"customer:{OLGA}"),
        ("license.user_reassign", f"customer:{OLGA}"),
    ]
