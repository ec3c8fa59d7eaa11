"""An application's user signs in by the device flow (RFC 8628), confirming the code in the portal after
signing in there through their organisation's identity provider (a real OpenID Connect provider)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.server.sso.conftest import ACME_CLIENT, ACME_SECRET, add_connection
from tests.server.sso.test_portal_sso import sso_sign_in
from tests.server.users.conftest import app, authorize, poll, portal_post, user_type

ANN = "ann@acme.example"


@pytest.fixture
def acme_sso(engine: Any, clock: Any, migrated: Any, product: Any, provider: Any) -> Any:
    """Acme's people sign in to the portal at Acme's provider; Acme bought a license of named users."""
    from licentia.server.licenses.service import issue_license

    add_connection(
        engine, clock, migrated.fernet(), purpose="portal", name="Acme", issuer=provider.issuer,
        client_id=ACME_CLIENT, client_secret=ACME_SECRET, email_domains=["acme.example"],
    )  # fmt: skip
    user_type(engine, clock)
    with engine.begin() as conn:
        return issue_license(conn, product="acme", email=ANN, policy="Team", now=clock.now())


def test_an_application_user_signs_in_through_the_organisations_provider(
    client: Any, product: Any, clock: Any, acme_sso: Any
) -> None:
    laptop = app(client, product, 1)
    grant = authorize(laptop).json()
    assert poll(laptop, grant["device_code"]).json()["error"]["code"] == "authorization_pending"

    assert sso_sign_in(client, ANN).headers["location"] == "/portal"  # the person, at Acme's provider
    shown = portal_post(client, "/portal/device", code=grant["user_code"])
    assert shown.status_code == 200, shown.text
    done = portal_post(client, "/portal/device/approve", code=grant["user_code"])
    assert done.status_code == 200 and "You are signed in" in done.text, done.text

    clock.advance(seconds=grant["interval"])
    assert poll(laptop, grant["device_code"]).status_code == 200
    doc = laptop.check()
    assert (doc["status"], doc["user"]) == ("registered", ANN)
