"""Roles are enforced on the server: a viewer changes nothing, only owners manage admins, one owner always stays."""

from __future__ import annotations

import re
from typing import Any

import sqlalchemy as sa
from starlette.routing import Route

from licentia.server.auth.accounts import create_admin
from licentia.server.auth.tokens import create_token
from licentia.server.store.models import AdminUser, table_of
from tests.server.admin_fixtures import EMAIL, PASSWORD, csrf_of, form_token, make_admin, sign_in

users = table_of(AdminUser)
VIEWER = "vera@vendor.example"
SELF_SERVICE = {"/admin/signin", "/admin/signin/code", "/admin/signout"}


def add(engine: Any, clock: Any, email: str, role: str) -> None:
    with engine.begin() as conn:
        create_admin(conn, email=email, password=PASSWORD, actor="test", now=clock.now(), role=role)


def all_routes(app: Any) -> list[Any]:
    found = []
    for route in app.routes:
        if hasattr(route, "effective_route_contexts"):  # an included router
            found.extend(route.effective_route_contexts())
        elif isinstance(route, Route):
            found.append(route)
    return found


def posted_admin_paths(app: Any) -> list[str]:
    """Every admin page path that takes a change (path parameters filled in)."""
    paths = []
    for route in all_routes(app):
        changes = set(route.methods or ()) & {"POST", "PUT", "PATCH", "DELETE"}
        mine = route.path in SELF_SERVICE or route.path.startswith("/admin/account")
        if route.path.startswith("/admin") and changes and not mine:
            paths.append(re.sub(r"\{[^}]+\}", "1", route.path))
    return sorted(set(paths))


def test_a_viewer_is_refused_every_change_with_a_clear_page(client, engine, clock, product):
    make_admin(engine, clock)  # the owner
    add(engine, clock, VIEWER, "viewer")
    assert sign_in(client, VIEWER).status_code == 303
    csrf = csrf_of(client)
    paths = posted_admin_paths(client.app)
    assert len(paths) > 15 and {"/admin/webhooks", "/admin/licenses", "/admin/admins"} <= set(paths)
    for path in paths:
        answer = client.post(path, data={"csrf": csrf, "name": "x", "url": "https://x.example"}, follow_redirects=False)
        assert answer.status_code == 403, (path, answer.status_code)
        assert "Your role (viewer) cannot make this change" in answer.text or "Only an owner" in answer.text, path
    # Reading is fine, and signing out is still allowed.
    assert client.get("/admin/webhooks").status_code == 200
    assert client.get("/admin/admins").status_code == 403
    assert client.post("/admin/signout", data={"csrf": csrf}, follow_redirects=False).status_code == 303


def test_staff_writes_but_does_not_manage_admins(client, engine, clock, product):
    make_admin(engine, clock)
    add(engine, clock, "sam@vendor.example", "staff")
    sign_in(client, "sam@vendor.example")
    csrf = csrf_of(client)
    made = client.post(
        "/admin/webhooks", data={"csrf": csrf, "url": "https://hooks.vendor.example/x", "all_events": "1"}
    )
    assert made.status_code == 200 and "Endpoint added." in made.text
    refused = client.post("/admin/admins", data={"csrf": csrf, "email": "x@vendor.example", "password": PASSWORD,
                                                  "role": "owner"}, follow_redirects=False)  # fmt: skip
    assert refused.status_code == 403 and "needs the owner role" in refused.text


def test_owner_manages_admins_and_the_last_owner_stays(client, engine, clock, product):
    make_admin(engine, clock)
    sign_in(client)
    csrf = form_token(client.get("/admin/admins").text)
    done = client.post("/admin/admins", data={"csrf": csrf, "email": "New@Vendor.example", "password": PASSWORD,
                                               "role": "staff"})  # fmt: skip
    assert "Admin new@vendor.example added." in done.text
    with engine.connect() as conn:
        ids = dict(conn.execute(sa.select(users.c.email, users.c.id)).all())
        assert conn.execute(sa.select(users.c.role).where(users.c.id == ids["new@vendor.example"])).scalar() == "staff"
    owner = ids[EMAIL]
    for path, data in (
        (f"/admin/admins/{owner}/role", {"role": "viewer"}),
        (f"/admin/admins/{owner}/disable", {}),
        (f"/admin/admins/{owner}/remove", {"confirm": "yes"}),
    ):
        answer = client.post(path, data={"csrf": csrf, **data})
        assert "is the last owner" in answer.text, path
    # With a second owner, the first may step down.
    client.post(f"/admin/admins/{ids['new@vendor.example']}/role", data={"csrf": csrf, "role": "owner"})
    # The page it leads back to is refused to a viewer; a browser sees it in the frame, with the confirmation.
    demoted = client.post(
        f"/admin/admins/{owner}/role", data={"csrf": csrf, "role": "viewer"}, headers={"Accept": "text/html"}
    )
    assert demoted.status_code == 403 and "Role changed." in demoted.text
    assert client.get("/admin/admins").status_code == 403  # now a viewer


def test_an_api_token_acts_with_at_most_its_makers_role(client, engine, clock, product):
    add(engine, clock, "ann@vendor.example", "owner")
    add(engine, clock, "sam@vendor.example", "staff")
    with engine.begin() as conn:
        token = create_token(conn, name="sam's", scopes=["write"], now=clock.now(),
                             created_by="admin:sam@vendor.example").token  # fmt: skip
    auth = {"Authorization": f"Bearer {token}"}
    assert client.post("/v1/admin/webhooks", json={"url": "https://h.example/a"}, headers=auth).status_code == 201
    with engine.begin() as conn:
        conn.execute(users.update().where(users.c.email == "sam@vendor.example").values(role="viewer"))
    refused = client.post("/v1/admin/webhooks", json={"url": "https://h.example/b"}, headers=auth)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "role_forbidden"
    assert client.get("/v1/admin/webhooks", headers=auth).status_code == 200  # reading still works
    with engine.begin() as conn:
        conn.execute(users.update().where(users.c.email == "sam@vendor.example").values(is_active=False))
    assert client.get("/v1/admin/webhooks", headers=auth).json()["error"]["code"] == "invalid_token"
