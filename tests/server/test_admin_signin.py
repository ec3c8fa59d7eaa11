"""Sign-in, sessions, CSRF and lock-out of the admin UI, on both databases."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from licentia.server.store.models import AdminSession, AuditEntry, table_of
from tests.server.admin_fixtures import EMAIL, csrf_of, make_admin, sign_in


def test_pages_need_a_session(client: Any) -> None:
    answer = client.get("/admin/devices", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/admin/signin?next=/admin/devices")


def test_sign_in_sets_a_hardened_cookie_and_stores_only_its_hash(client: Any, engine: Any, clock: Any) -> None:
    make_admin(engine, clock)
    answer = sign_in(client)
    assert answer.status_code == 303 and answer.headers["location"] == "/admin"
    cookie = next(h for h in answer.headers.get_list("set-cookie") if h.startswith("licentia_session="))
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/admin" in cookie
    assert "Secure" not in cookie  # plain http test server, cookie_secure unset
    value = cookie.split(";")[0].split("=", 1)[1]
    with engine.connect() as conn:
        stored = conn.execute(sa.select(table_of(AdminSession).c.id_hash)).scalars().all()
    assert value not in stored and len(stored) == 1
    assert client.get("/admin").status_code == 200


def test_cookie_is_secure_when_configured(migrated: Any, product: Any, engine: Any, clock: Any) -> None:
    from fastapi.testclient import TestClient

    from licentia.server.app import create_app

    make_admin(engine, clock)
    migrated.cookie_secure = True
    with TestClient(create_app(migrated, clock=clock), base_url="https://testserver") as secure_client:
        answer = sign_in(secure_client)
    cookie = next(h for h in answer.headers.get_list("set-cookie") if h.startswith("licentia_session="))
    assert "Secure" in cookie


def test_wrong_password_and_unknown_user_get_the_same_answer(client: Any, engine: Any, clock: Any) -> None:
    make_admin(engine, clock)
    wrong = sign_in(client, password="not the password")
    unknown = sign_in(client, email="nobody@vendor.example", password="whatever it is")
    assert wrong.status_code == unknown.status_code == 401
    assert "Wrong email or password." in wrong.text and "Wrong email or password." in unknown.text


def test_sign_in_without_its_form_token_is_refused(client: Any, engine: Any, clock: Any) -> None:
    make_admin(engine, clock)
    client.get("/admin/signin")
    answer = client.post("/admin/signin", data={"email": EMAIL, "password": "correct horse battery"})
    assert answer.status_code == 403
    assert "licentia_session" not in client.cookies
    # A token that is not even ASCII is refused like any other wrong one, never a 500.
    odd = client.post("/admin/signin", data={"email": EMAIL, "password": "x", "csrf": "jéton"})
    assert odd.status_code == 403


def test_lock_out_after_five_failures_for_fifteen_minutes(client: Any, engine: Any, clock: Any) -> None:
    make_admin(engine, clock)
    for _ in range(5):
        assert sign_in(client, password="guess guess guess").status_code == 401
    locked = sign_in(client)  # the right password, but locked
    assert locked.status_code == 401 and "locked" in locked.text
    clock.advance(minutes=14)
    assert sign_in(client).status_code == 401
    clock.advance(minutes=2)
    assert sign_in(client).status_code == 303
    with engine.connect() as conn:
        actions = conn.execute(sa.select(table_of(AuditEntry).c.action)).scalars().all()
    assert "admin.locked" in actions and "admin.sign_in" in actions


def test_every_post_needs_the_session_csrf_token(client: Any, engine: Any, clock: Any) -> None:
    make_admin(engine, clock)
    sign_in(client)
    assert client.post("/admin/tokens", data={"name": "x", "scope": "read"}).status_code == 403
    assert client.post("/admin/tokens", data={"name": "x", "scope": "read", "csrf": "forged"}).status_code == 403
    assert client.post("/admin/tokens", data={"name": "x", "scope": "read", "csrf": "jéton"}).status_code == 403
    token = csrf_of(client)
    cross_site = client.post(
        "/admin/tokens", data={"name": "x", "scope": "read", "csrf": token}, headers={"Origin": "https://evil.example"}
    )
    assert cross_site.status_code == 403
    ok = client.post("/admin/tokens", data={"name": "x", "scope": "read", "csrf": token})
    assert ok.status_code == 200 and "lct_" in ok.text


def test_sign_out_ends_the_session(client: Any, engine: Any, clock: Any) -> None:
    make_admin(engine, clock)
    sign_in(client)
    token = csrf_of(client)
    assert client.post("/admin/signout", data={"csrf": token}, follow_redirects=False).status_code == 303
    assert client.get("/admin", follow_redirects=False).status_code == 303
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(table_of(AdminSession))).scalar_one() == 0


def test_sessions_expire(client: Any, engine: Any, clock: Any) -> None:
    make_admin(engine, clock)
    sign_in(client)
    clock.advance(hours=12, seconds=1)
    assert client.get("/admin", follow_redirects=False).status_code == 303
