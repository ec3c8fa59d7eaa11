"""The developer API's organisations: create, invite, roles and the owner rule, licenses, audit and webhooks."""

from __future__ import annotations

import time
from typing import Any

from licentia.server.notify.webhook_specs import WebhookSpec
from licentia.server.notify.webhooks import create_webhook
from tests.server.organisations.conftest import audit_actions, invitation_link
from tests.server.portal.conftest import issue

OWNER, DANA, ERIN = "olga@team.example", "dana@team.example", "erin@team.example"


def _join(engine: Any, clock: Any, token_link: str, email: str) -> None:
    from urllib.parse import unquote

    from licentia.server.organisations.members import accept

    token = unquote(token_link.split("token=", 1)[1])
    with engine.begin() as conn:
        accept(conn, token=token, email=email, now=clock.now())


def test_create_invite_roles_and_licenses_through_the_api(client, engine, clock, smtp, auth, product) -> None:
    made = client.post("/v1/admin/organisations", json={"name": "Team Blue", "owner_email": OWNER}, headers=auth)
    assert made.status_code == 201, made.text
    org = made.json()
    assert org["name"] == "Team Blue"
    assert [(m["email"], m["role"], m["pending"]) for m in org["members"]] == [(OWNER, "owner", True)]
    link = invitation_link(smtp, OWNER)
    _join(engine, clock, link, OWNER)
    oid = org["id"]

    invited = client.post(f"/v1/admin/organisations/{oid}/members", json={"email": DANA, "role": "admin"}, headers=auth)
    assert invited.status_code == 201 and invited.json()["pending"] is True
    again = client.post(f"/v1/admin/organisations/{oid}/members", json={"email": OWNER}, headers=auth)
    assert again.status_code == 409 and again.json()["error"]["code"] == "already_member"
    bad_role = client.post(f"/v1/admin/organisations/{oid}/members", json={"email": ERIN, "role": "boss"}, headers=auth)
    assert bad_role.status_code == 422

    # The owner rule: the only owner who joined is neither demoted nor removed.
    demote = client.patch(f"/v1/admin/organisations/{oid}/members/{OWNER}", json={"role": "member"}, headers=auth)
    assert demote.status_code == 409 and demote.json()["error"]["code"] == "last_organisation_owner"
    gone = client.delete(f"/v1/admin/organisations/{oid}/members/{OWNER}", headers=auth)
    assert gone.status_code == 409
    _join(engine, clock, invitation_link(smtp, DANA), DANA)
    promoted = client.patch(f"/v1/admin/organisations/{oid}/members/{DANA}", json={"role": "owner"}, headers=auth)
    assert promoted.status_code == 200 and promoted.json()["role"] == "owner"
    assert client.delete(f"/v1/admin/organisations/{oid}/members/{OWNER}", headers=auth).status_code == 204
    missing = client.delete(f"/v1/admin/organisations/{oid}/members/{OWNER}", headers=auth)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "unknown_member"

    renamed = client.patch(f"/v1/admin/organisations/{oid}", json={"name": "Team Navy"}, headers=auth)
    assert renamed.json()["name"] == "Team Navy"
    lic = issue(engine, clock, DANA)
    attached = client.put(f"/v1/admin/organisations/{oid}/licenses/{lic.id}", headers=auth)
    assert [x["id"] for x in attached.json()["licenses"]] == [lic.id]
    assert client.get(f"/v1/admin/licenses/{lic.id}", headers=auth).json()["organisation_id"] == oid
    listed = client.get("/v1/admin/organisations", params={"search": "dana@"}, headers=auth).json()
    assert [(o["name"], o["members"], o["licenses"]) for o in listed] == [("Team Navy", 1, 1)]
    assert client.delete(f"/v1/admin/organisations/{oid}/licenses/{lic.id}", headers=auth).status_code == 204
    assert client.get(f"/v1/admin/organisations/{oid}", headers=auth).json()["licenses"] == []
    assert client.get("/v1/admin/organisations/999", headers=auth).json()["error"]["code"] == "unknown_organisation"

    actions = [(a, actor.split(":")[0]) for a, actor, _ in audit_actions(engine)]
    assert actions == [
        ("organisation.create", "token"),
        ("organisation.invite", "token"),
        ("organisation.join", "customer"),
        ("organisation.invite", "token"),
        ("organisation.join", "customer"),
        ("organisation.role", "token"),
        ("organisation.remove", "token"),
        ("organisation.rename", "token"),
        ("organisation.license", "token"),
        ("organisation.license", "token"),
    ]


def test_the_new_events_reach_a_webhook_listening_to_every_product(
    client, engine, clock, settings, smtp, receiver, auth
) -> None:
    with engine.begin() as conn:
        create_webhook(
            conn, WebhookSpec(url=receiver.url, product=None, events=[]), now=clock.now(), fernet=settings.fernet()
        )
    oid = client.post("/v1/admin/organisations", json={"name": "Team Red", "owner_email": OWNER}, headers=auth).json()[
        "id"
    ]
    _join(engine, clock, invitation_link(smtp, OWNER), OWNER)
    client.post(f"/v1/admin/organisations/{oid}/members", json={"email": DANA}, headers=auth)
    client.patch(f"/v1/admin/organisations/{oid}/members/{DANA}", json={"role": "admin"}, headers=auth)
    client.delete(f"/v1/admin/organisations/{oid}/members/{DANA}", headers=auth)
    wanted = [
        "organisation.created",
        "member.invited",
        "member.joined",
        "member.invited",
        "member.role_changed",
        "member.removed",
    ]
    deadline = time.monotonic() + 10
    while len(receiver.deliveries) < len(wanted) and time.monotonic() < deadline:
        time.sleep(0.05)
    got = [d.json() for d in receiver.deliveries]
    assert sorted(g["event"] for g in got) == sorted(wanted), got
    removed = next(g for g in got if g["event"] == "member.removed")
    assert removed["data"]["organisation"] == {"id": oid, "name": "Team Red"}
    assert removed["data"]["member"] == {"email": DANA, "role": "admin", "left": False}
