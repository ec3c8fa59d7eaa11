"""Admins sign in through the installation's identity provider: a real OpenID Connect provider on loopback."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from tests.server.admin_fixtures import form_token, make_admin
from tests.server.sso.conftest import ADMIN_CLIENT, ADMIN_SECRET, add_connection
from tests.server.sso.provider import back_at_app, through_provider

ANN = "ann@vendor.example"


def admin_connection(engine: Any, clock: Any, migrated: Any, provider: Any, **extra: Any) -> int:
    return add_connection(
        engine,
        clock,
        migrated.fernet(),
        purpose="admin",
        name="Vendor ID",
        issuer=provider.issuer,
        client_id=ADMIN_CLIENT,
        client_secret=ADMIN_SECRET,
        **extra,
    )


def sso_sign_in(client: Any, connection_id: int, login: str) -> Any:
    out = client.get(f"/admin/sso/start/{connection_id}", follow_redirects=False)
    assert out.status_code == 303, out.text
    return back_at_app(client, through_provider(out.headers["location"], login=login))


def test_the_sign_in_page_offers_the_provider_and_an_admin_signs_in(
    client: Any, engine: Any, clock: Any, migrated: Any, provider: Any
) -> None:
    make_admin(engine, clock, email=ANN)
    connection = admin_connection(engine, clock, migrated, provider)
    page = client.get("/admin/signin")
    assert f'href="/admin/sso/start/{connection}"' in page.text and "Sign in with Vendor ID" in page.text
    done = sso_sign_in(client, connection, ANN)
    assert done.status_code == 303 and done.headers["location"] == "/admin"
    assert client.get("/admin").status_code == 200
    with engine.connect() as conn:
        entry = conn.execute(sa.text("SELECT details FROM audit_entries WHERE action = 'admin.sign_in'")).scalar_one()
    assert "sso" in str(entry)


def test_an_admin_with_a_second_factor_is_still_asked_for_the_code(
    client: Any, engine: Any, clock: Any, migrated: Any, provider: Any
) -> None:
    from tests.server.admin_accounts.test_totp import code_step, enrol
    from tests.server.admin_fixtures import sign_in

    make_admin(engine, clock, email=ANN)
    sign_in(client, email=ANN)
    totp, _ = enrol(client, clock)
    client.post("/admin/signout", data={"csrf": form_token(client.get("/admin").text)})
    client.cookies.clear()
    connection = admin_connection(engine, clock, migrated, provider)
    done = sso_sign_in(client, connection, ANN)
    assert done.status_code == 303 and done.headers["location"].startswith("/admin/signin/code")
    # The session opens nothing but the code page until the code is given.
    assert client.get("/admin", follow_redirects=False).status_code == 303
    clock.advance(seconds=30)  # the enrolment's code was spent: the next one
    assert code_step(client, totp.at(clock.now())).headers["location"] == "/admin"
    assert client.get("/admin").status_code == 200


def test_an_address_without_an_admin_account_is_refused_unless_the_connection_creates_admins(
    client: Any, engine: Any, clock: Any, migrated: Any, provider: Any
) -> None:
    strict = admin_connection(engine, clock, migrated, provider)
    refused = sso_sign_in(client, strict, "newcomer@vendor.example")
    assert refused.status_code == 401 and "No admin account for newcomer@vendor.example" in refused.text
    assert "licentia_session" not in client.cookies
    welcoming = admin_connection(
        engine, clock, migrated, provider, new_admin_role="viewer", email_domains=["vendor.example"]
    )
    # Outside the connection's domains: no account is made.
    outside = sso_sign_in(client, welcoming, "someone@elsewhere.example")
    assert outside.status_code == 401
    done = sso_sign_in(client, welcoming, "newcomer@vendor.example")
    assert done.status_code == 303 and done.headers["location"] == "/admin"
    with engine.connect() as conn:
        role = conn.execute(
            sa.text("SELECT role FROM admin_users WHERE email = 'newcomer@vendor.example'")
        ).scalar_one()
        created_by = conn.execute(sa.text("SELECT actor FROM audit_entries WHERE action = 'admin.create'")).scalar_one()
    assert role == "viewer" and created_by == f"sso:{welcoming}"


def test_a_disabled_admin_is_refused(client: Any, engine: Any, clock: Any, migrated: Any, provider: Any) -> None:
    make_admin(engine, clock, email=ANN)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE admin_users SET is_active = false"))
    refused = sso_sign_in(client, admin_connection(engine, clock, migrated, provider), ANN)
    assert refused.status_code == 401 and "licentia_session" not in client.cookies


def test_an_unverified_email_is_refused(client: Any, engine: Any, clock: Any, migrated: Any, provider: Any) -> None:
    make_admin(engine, clock, email=ANN)
    refused = sso_sign_in(client, admin_connection(engine, clock, migrated, provider), f"unverified:{ANN}")
    assert refused.status_code == 401 and "Single sign-on failed" in refused.text
    assert "licentia_session" not in client.cookies
