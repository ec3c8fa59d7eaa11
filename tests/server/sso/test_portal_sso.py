"""Customers sign in to the portal through their organisation's identity provider: two organisations, each with
its own issuer (two real OpenID Connect providers on loopback)."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from tests.server.admin_fixtures import form_token
from tests.server.sso.conftest import ACME_CLIENT, ACME_SECRET, GLOBEX_CLIENT, GLOBEX_SECRET, add_connection
from tests.server.sso.provider import back_at_app, through_provider

ANN, BOB = "ann@acme.example", "bob@globex.example"


@pytest.fixture
def organisations(engine: Any, clock: Any, migrated: Any, product: Any, provider: Any, second_provider: Any) -> Any:
    """Acme's people sign in at the first provider, Globex's at the second; each holds a license."""
    from licentia.server.licenses.service import issue_license
    from licentia.server.organisations.service import create_organisation

    fernet = migrated.fernet()
    with engine.begin() as conn:
        acme_org, globex_org = (
            create_organisation(conn, name=n, actor="test", now=clock.now()) for n in ("Acme", "Globex")
        )
    acme = add_connection(
        engine, clock, fernet, purpose="portal", name="Acme", issuer=provider.issuer, client_id=ACME_CLIENT,
        client_secret=ACME_SECRET, email_domains=["acme.example"], organisation_id=acme_org,
    )  # fmt: skip
    globex = add_connection(
        engine, clock, fernet, purpose="portal", name="Globex", issuer=second_provider.issuer,
        client_id=GLOBEX_CLIENT, client_secret=GLOBEX_SECRET, email_domains=["globex.example"],
        organisation_id=globex_org,
    )  # fmt: skip
    with engine.begin() as conn:
        ann = issue_license(conn, product="acme", email=ANN, now=clock.now())
        bob = issue_license(conn, product="acme", email=BOB, now=clock.now())
    return {"acme": acme, "globex": globex, "ann": ann, "bob": bob}


def leave(client: Any, email: str) -> Any:
    page = client.get("/portal/signin")
    assert "Sign in with your organisation" in page.text
    return client.post("/portal/sso", data={"email": email, "csrf": form_token(page.text)}, follow_redirects=False)


def sso_sign_in(client: Any, email: str, login: str | None = None) -> Any:
    out = leave(client, email)
    assert out.status_code == 303, out.text
    return back_at_app(client, through_provider(out.headers["location"], login=login or email))


def test_each_organisations_people_sign_in_at_their_own_provider_and_see_their_own_licenses(
    client: Any, engine: Any, organisations: Any, provider: Any, second_provider: Any
) -> None:
    assert leave(client, ANN).headers["location"].startswith(provider.issuer + "/auth?")
    assert leave(client, BOB).headers["location"].startswith(second_provider.issuer + "/auth?")
    done = sso_sign_in(client, ANN)
    assert done.status_code == 303 and done.headers["location"] == "/portal"
    home = client.get("/portal")
    assert ANN in home.text and f"/portal/licenses/{organisations['ann'].id}" in home.text
    assert f"/portal/licenses/{organisations['bob'].id}" not in home.text
    assert client.get(f"/portal/licenses/{organisations['bob'].id}").status_code == 404
    client.cookies.clear()
    assert sso_sign_in(client, BOB).headers["location"] == "/portal"
    home = client.get("/portal")
    assert BOB in home.text and f"/portal/licenses/{organisations['ann'].id}" not in home.text
    with engine.connect() as conn:
        entries = conn.execute(
            sa.text("SELECT target_id FROM audit_entries WHERE action = 'portal.sign_in' ORDER BY id")
        ).scalars()
        assert list(entries) == [ANN, BOB]


def test_a_provider_never_signs_in_someone_outside_its_organisation(
    client: Any, organisations: Any, caplog: Any
) -> None:
    """Acme's provider vouching for a Globex address (an Acme account named so, or a compromised provider): no."""
    refused = sso_sign_in(client, ANN, login=BOB)
    assert refused.status_code == 403 and f"does not cover {BOB}" in refused.text
    assert client.get("/portal", follow_redirects=False).status_code == 303  # not signed in
    assert any("outside its domains" in r.getMessage() for r in caplog.records)


def test_an_address_no_organisation_claims_is_sent_to_the_emailed_link(client: Any, organisations: Any) -> None:
    refused = leave(client, "carol@initech.example")
    assert refused.status_code == 404 and "ask for a sign-in link" in refused.text


def test_an_unverified_email_is_refused(client: Any, organisations: Any) -> None:
    refused = sso_sign_in(client, ANN, login=f"unverified:{ANN}")
    assert refused.status_code == 401 and client.get("/portal", follow_redirects=False).status_code == 303


def test_the_portal_offers_no_organisation_sign_in_without_a_connection(client: Any) -> None:
    assert "Sign in with your organisation" not in client.get("/portal/signin").text
