"""ID tokens a real provider would not mint, from a provider made for the tests (forged.py): each refused."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from joserfc.jwk import RSAKey

from tests.server.admin_fixtures import make_admin
from tests.server.sso.conftest import add_connection
from tests.server.sso.forged import CLIENT_ID, CLIENT_SECRET, Forger, authorized, forged_provider
from tests.server.sso.provider import back_at_app

ANN = "ann@vendor.example"


@pytest.fixture
def forger() -> Iterator[Forger]:
    with forged_provider() as started:
        yield started


@pytest.fixture
def connection(engine: Any, clock: Any, migrated: Any, forger: Forger) -> int:
    make_admin(engine, clock, email=ANN)
    return add_connection(
        engine, clock, migrated.fernet(), purpose="admin", name="Forged", issuer=forger.issuer,
        client_id=CLIENT_ID, client_secret=CLIENT_SECRET,
    )  # fmt: skip


def attempt(client: Any, connection: int) -> Any:
    out = client.get(f"/admin/sso/start/{connection}", follow_redirects=False)
    assert out.status_code == 303
    return back_at_app(client, authorized(out.headers["location"]))


def test_an_honest_token_from_it_signs_in(client: Any, connection: int) -> None:
    """The harness itself is honest: what the other tests change is all that makes them fail."""
    done = attempt(client, connection)
    assert done.status_code == 303 and done.headers["location"] == "/admin"


NOW = int(time.time())


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"claims": {"aud": "another-application"}}, "issued to another application"),
        ({"claims": {"aud": [CLIENT_ID, "another-application"]}}, "issued to another application (azp)"),
        ({"claims": {"azp": "another-application"}}, "issued to another application (azp)"),
        ({"claims": {"iss": "http://127.0.0.1:9"}}, "was issued by 'http://127.0.0.1:9'"),
        ({"claims": {"exp": NOW - 3600, "iat": NOW - 7200}}, "the ID token has expired"),
        ({"claims": {"iat": NOW + 3600, "exp": NOW + 7200}}, "issued in the future"),
        ({"claims": {"nonce": "another"}}, "nonce is not this sign-in's"),
        ({"drop": ("nonce",)}, "nonce is not this sign-in's"),
        ({"drop": ("email_verified",)}, "has not verified this email address"),
        ({"claims": {"email_verified": "true"}}, "has not verified this email address"),
        # Entra ID's stand-in counts only as a boolean, and only when email_verified is absent.
        ({"drop": ("email_verified",), "claims": {"xms_edov": "1"}}, "has not verified this email address"),
        ({"claims": {"email_verified": False, "xms_edov": True}}, "has not verified this email address"),
        ({"sign_with": RSAKey.generate_key(2048, parameters={"kid": "forged-1"})}, "signature does not verify"),
        # alg "none": a token anybody can write.
        ({"raw_token": "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0."}, "signature does not verify"),
    ],
    ids=[
        "wrong-audience", "several-audiences-no-azp", "wrong-azp", "wrong-issuer", "expired", "future",
        "wrong-nonce", "no-nonce", "no-email-verified", "email-verified-as-text", "edov-as-text",
        "edov-over-unverified", "another-key", "alg-none",
    ],
)  # fmt: skip
def test_a_token_that_fails_a_check_is_refused(
    client: Any, connection: int, forger: Forger, caplog: Any, change: dict[str, Any], reason: str
) -> None:
    for name, value in change.items():
        setattr(forger, name, value)
    refused = attempt(client, connection)
    assert refused.status_code == 401 and "Single sign-on failed" in refused.text
    assert client.get("/admin", follow_redirects=False).status_code == 303
    assert any(reason in r.getMessage() for r in caplog.records if r.name == "licentia.sso"), [
        r.getMessage() for r in caplog.records
    ]


def test_an_entra_token_with_a_verified_domain_signs_in(client: Any, connection: int, forger: Forger) -> None:
    """Microsoft Entra ID: no email_verified, the optional claim xms_edov true (the tenant owns the domain)."""
    forger.drop, forger.claims = ("email_verified",), {"xms_edov": True}
    assert attempt(client, connection).headers["location"] == "/admin"


def test_several_audiences_with_this_client_as_azp_sign_in(client: Any, connection: int, forger: Forger) -> None:
    forger.claims = {"aud": [CLIENT_ID, "another-application"], "azp": CLIENT_ID}
    assert attempt(client, connection).headers["location"] == "/admin"


def test_a_replayed_id_token_is_refused(client: Any, connection: int, forger: Forger, caplog: Any) -> None:
    """A genuine ID token that signed someone in once, presented again for a later sign-in (a provider, or a
    man in the middle of its token answer, replaying it): its nonce is the first sign-in's, so it is refused."""
    first = attempt(client, connection)
    assert first.headers["location"] == "/admin"
    forger.raw_token = forger.id_token()  # the token of the sign-in above, with its nonce
    client.cookies.clear()
    refused = attempt(client, connection)
    assert refused.status_code == 401 and "Single sign-on failed" in refused.text
    assert client.get("/admin", follow_redirects=False).status_code == 303
    assert any("nonce is not this sign-in's" in r.getMessage() for r in caplog.records if r.name == "licentia.sso")
