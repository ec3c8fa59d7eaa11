"""Connections managed from the developer API and the admin UI: validated, audited, their secret sealed and
never shown (the CLI's cases are in tests/server/cli/test_every_command.py)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from tests.server.admin_fixtures import form_token, make_admin, sign_in

BODY: dict[str, Any] = {
    "purpose": "portal",
    "name": "Globex",
    "issuer": "https://id.globex.example",
    "client_id": "licentia",
    "client_secret": "api secret value",
    "email_domains": ["Globex.example", "globex.example", "@eu.globex.example"],
    "organisation_id": 7,
}


def bearer(engine: Any, clock: Any, scopes: list[str]) -> dict[str, str]:
    from licentia.server.auth.tokens import create_token

    with engine.begin() as conn:
        made = create_token(conn, name="ops", scopes=scopes, now=clock.now(), created_by="test")
    return {"Authorization": f"Bearer {made.token}"}


def test_the_developer_api_adds_lists_and_removes_connections(client: Any, engine: Any, clock: Any) -> None:
    write, read = bearer(engine, clock, ["read", "write"]), bearer(engine, clock, ["read"])
    assert client.post("/v1/admin/sso/connections", json=BODY, headers=read).status_code == 403
    nowhere = client.post("/v1/admin/sso/connections", json=BODY, headers=write)  # organisation 7 does not exist
    assert nowhere.status_code == 404 and nowhere.json()["error"]["code"] == "unknown_organisation"
    globex = client.post("/v1/admin/organisations", json={"name": "Globex"}, headers=write)
    assert globex.status_code == 201, globex.text
    made = client.post(
        "/v1/admin/sso/connections", json={**BODY, "organisation_id": globex.json()["id"]}, headers=write
    )
    assert made.status_code == 201, made.text
    body = made.json()
    assert body["email_domains"] == ["eu.globex.example", "globex.example"] and "client_secret" not in body
    listed = client.get("/v1/admin/sso/connections", headers=read).json()
    assert [c["id"] for c in listed] == [body["id"]] and "api secret value" not in str(listed)
    with engine.connect() as conn:
        stored = conn.execute(sa.text("SELECT client_secret_sealed FROM sso_connections")).scalar_one()
        actions = conn.execute(sa.text("SELECT action FROM audit_entries ORDER BY id")).scalars().all()
    assert stored.startswith("sealed:v1:") and "api secret value" not in stored
    assert client.delete(f"/v1/admin/sso/connections/{body['id']}", headers=write).status_code == 204
    gone = client.delete(f"/v1/admin/sso/connections/{body['id']}", headers=write)
    assert gone.status_code == 404 and gone.json()["error"]["code"] == "unknown_sso_connection"
    with engine.connect() as conn:
        actions = conn.execute(sa.text("SELECT action FROM audit_entries ORDER BY id")).scalars().all()
    assert actions == ["organisation.create", "sso_connection.add", "sso_connection.remove"]


def test_the_developer_api_refuses_bad_connections_with_a_code(client: Any, engine: Any, clock: Any) -> None:
    write = bearer(engine, clock, ["read", "write"])
    cases: list[tuple[dict[str, Any], str]] = [
        ({"issuer": "http://id.globex.example"}, "invalid_sso_connection"),  # plain http off this computer
        ({"email_domains": []}, "invalid_sso_connection"),  # a portal connection answers for its domains
        ({"email_domains": ["not a domain"]}, "invalid_sso_connection"),
        ({"new_admin_role": "owner"}, "invalid_sso_connection"),  # only admin connections make admins
        ({"purpose": "admin", "organisation_id": 3}, "invalid_sso_connection"),
        # Creating admins from any account the provider knows: only from named domains.
        (
            {"purpose": "admin", "organisation_id": None, "email_domains": [], "new_admin_role": "viewer"},
            "invalid_sso_connection",
        ),
    ]
    for change, code in cases:
        answer = client.post("/v1/admin/sso/connections", json=BODY | change, headers=write)
        assert answer.status_code == 400 and answer.json()["error"]["code"] == code, (change, answer.text)
    assert client.post("/v1/admin/sso/connections", json=BODY | {"purpose": "x"}, headers=write).status_code == 422
    assert client.get("/v1/admin/sso/connections", headers=write).json() == []


def test_an_owner_manages_connections_in_the_admin_ui(client: Any, engine: Any, clock: Any) -> None:
    make_admin(engine, clock)
    sign_in(client)
    page = client.get("/admin/admins/sso")
    assert page.status_code == 200 and "No connections" in page.text
    assert "http://testserver/admin/sso/callback" in page.text  # what to give the provider
    form = {
        "csrf": form_token(page.text), "purpose": "admin", "name": "Vendor ID", "issuer": "https://id.vendor.example",
        "client_id": "licentia-admin", "client_secret": "ui secret value", "email_domains": "vendor.example",
        "new_admin_role": "viewer",
    }  # fmt: skip
    done = client.post("/admin/admins/sso", data=form)
    assert "Connection added." in done.text and "Vendor ID" in done.text and "ui secret value" not in done.text
    # A bad field comes back beside the form, typed values kept (never the secret).
    bad = client.post("/admin/admins/sso", data=form | {"issuer": "ftp://id.vendor.example"})
    assert bad.status_code == 400 and "https://" in bad.text and "ui secret value" not in bad.text
    assert 'href="/admin/sso/start/1"' in client.get("/admin/signin").text
    unconfirmed = client.post("/admin/admins/sso/1/remove", data={"csrf": form["csrf"]})
    assert "tick the box" in unconfirmed.text
    removed = client.post("/admin/admins/sso/1/remove", data={"csrf": form["csrf"], "confirm": "yes"})
    assert "Connection removed." in removed.text and "Vendor ID" not in client.get("/admin/signin").text
    # A portal connection names its organisation, chosen by name; the list names it back, with a link.
    from licentia.server.organisations.service import create_organisation

    with engine.begin() as conn:
        globex = create_organisation(conn, name="Globex Corp", actor="test", now=clock.now())
    page = client.get("/admin/admins/sso")
    assert f'<option value="{globex}" >Globex Corp</option>' in page.text
    portal = form | {"purpose": "portal", "name": "Globex", "email_domains": "globex.example", "new_admin_role": ""}
    added = client.post("/admin/admins/sso", data=portal | {"organisation_id": str(globex)})
    assert "Connection added." in added.text
    assert f'<a href="/admin/organisations/{globex}">Globex Corp</a>' in added.text


def test_only_owners_manage_connections(client: Any, engine: Any, clock: Any) -> None:
    make_admin(engine, clock, email="sam@vendor.example")
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE admin_users SET role = 'staff'"))
    sign_in(client, email="sam@vendor.example")
    assert client.get("/admin/admins/sso").status_code == 403
    token = form_token(client.get("/admin/account").text)
    answer = client.post("/admin/admins/sso", data={"csrf": token, "purpose": "admin", "name": "X"})
    assert answer.status_code == 403
