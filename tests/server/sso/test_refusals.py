"""What a real provider's answer cannot be made to do: replayed, tampered, too old, from another browser; and
a provider that rotates its signing key."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import sqlalchemy as sa

from tests.server.admin_fixtures import make_admin
from tests.server.sso.conftest import ADMIN_CLIENT, ADMIN_SECRET, BRIEF_CLIENT, BRIEF_SECRET, add_connection
from tests.server.sso.provider import Provider, back_at_app, through_provider
from tests.server.sso.test_admin_sso import ANN, admin_connection, sso_sign_in


def with_query(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query)) | changes
    return urlunsplit(parts._replace(query=urlencode(query)))


def leave(client: Any, connection_id: int) -> str:
    out = client.get(f"/admin/sso/start/{connection_id}", follow_redirects=False)
    assert out.status_code == 303
    return str(out.headers["location"])


def refused_because(caplog: Any, reason: str) -> bool:
    """The server's log names why (the person is only told that the sign-in failed)."""
    return any(reason in record.getMessage() for record in caplog.records if record.name == "licentia.sso")


def signed_in(client: Any) -> bool:
    return client.get("/admin", follow_redirects=False).status_code == 200


def test_a_callback_replayed_is_refused(
    client: Any, engine: Any, clock: Any, migrated: Any, provider: Any, caplog: Any
) -> None:
    make_admin(engine, clock, email=ANN)
    connection = admin_connection(engine, clock, migrated, provider)
    back = through_provider(leave(client, connection), login=ANN)
    assert back_at_app(client, back).status_code == 303 and signed_in(client)
    client.cookies.delete("licentia_session", path="/admin")
    replayed = back_at_app(client, back)
    assert replayed.status_code == 401 and "expired or was already used" in replayed.text
    assert not signed_in(client)
    assert refused_because(caplog, "spent or expired state")


def test_a_wrong_state_is_refused(
    client: Any, engine: Any, clock: Any, migrated: Any, provider: Any, caplog: Any
) -> None:
    make_admin(engine, clock, email=ANN)
    back = through_provider(leave(client, admin_connection(engine, clock, migrated, provider)), login=ANN)
    refused = back_at_app(client, with_query(back, state="made-up-state"))
    assert refused.status_code == 401 and not signed_in(client)
    assert refused_because(caplog, "spent or expired state")


def test_an_answer_brought_to_another_browser_is_refused(
    client: Any, engine: Any, clock: Any, migrated: Any, provider: Any, caplog: Any
) -> None:
    """Login CSRF: an attacker's own sign-in, finished in the victim's browser, must not sign the victim in."""
    make_admin(engine, clock, email=ANN)
    back = through_provider(leave(client, admin_connection(engine, clock, migrated, provider)), login=ANN)
    client.cookies.clear()  # the victim's browser: no cookie of that attempt
    refused = back_at_app(client, back)
    assert refused.status_code == 401 and not signed_in(client)
    assert refused_because(caplog, "spent or expired state")


def test_a_wrong_nonce_is_refused(
    client: Any, engine: Any, clock: Any, migrated: Any, provider: Any, caplog: Any
) -> None:
    make_admin(engine, clock, email=ANN)
    out = leave(client, admin_connection(engine, clock, migrated, provider))
    # The provider signs whatever nonce the request carries: an ID token minted for another request.
    back = through_provider(with_query(out, nonce="another-requests-nonce"), login=ANN)
    refused = back_at_app(client, back)
    assert refused.status_code == 401 and "Single sign-on failed" in refused.text and not signed_in(client)
    assert refused_because(caplog, "nonce is not this sign-in's")


def test_an_answer_naming_another_issuer_is_refused(
    client: Any, engine: Any, clock: Any, migrated: Any, provider: Any, caplog: Any
) -> None:
    make_admin(engine, clock, email=ANN)
    back = through_provider(leave(client, admin_connection(engine, clock, migrated, provider)), login=ANN)
    assert dict(parse_qsl(urlsplit(back).query))["iss"] == provider.issuer  # RFC 9207: the provider says who it is
    refused = back_at_app(client, with_query(back, iss="http://127.0.0.1:9"))
    assert refused.status_code == 401 and not signed_in(client)
    assert refused_because(caplog, "the answer came from 'http://127.0.0.1:9'")


def test_a_connection_whose_issuer_differs_from_the_providers_is_refused(
    client: Any, engine: Any, clock: Any, migrated: Any, provider: Any, caplog: Any
) -> None:
    """The issuer typed with a trailing slash: the provider's discovery document names another issuer."""
    connection = add_connection(
        engine,
        clock,
        migrated.fernet(),
        purpose="admin",
        name="Typo",
        issuer=provider.issuer + "/",
        client_id=ADMIN_CLIENT,
        client_secret=ADMIN_SECRET,
    )
    refused = client.get(f"/admin/sso/start/{connection}", follow_redirects=False)
    assert refused.status_code == 502 and "cannot be reached" in refused.text
    assert refused_because(caplog, "the discovery document names the issuer")


def test_an_expired_id_token_is_refused(
    client: Any, engine: Any, clock: Any, migrated: Any, provider: Any, caplog: Any
) -> None:
    make_admin(engine, clock, email=ANN)
    connection = add_connection(
        engine,
        clock,
        migrated.fernet(),
        purpose="admin",
        name="Brief",
        issuer=provider.issuer,
        client_id=BRIEF_CLIENT,
        client_secret=BRIEF_SECRET,
    )
    back = through_provider(leave(client, connection), login=ANN)
    # The provider's ID tokens for this client live a second; two minutes on, past the minute's leeway, and
    # still within the attempt's ten minutes.
    clock.advance(minutes=2)
    refused = back_at_app(client, back)
    assert refused.status_code == 401 and not signed_in(client)
    assert refused_because(caplog, "the ID token has expired")


def test_sign_in_goes_on_after_the_provider_rotates_its_key(
    client: Any, engine: Any, clock: Any, migrated: Any, caplog: Any
) -> None:
    rotating = Provider(clients={ADMIN_CLIENT: ADMIN_SECRET}, kid="2026-a").start()
    try:
        make_admin(engine, clock, email=ANN)
        connection = admin_connection(engine, clock, migrated, rotating)
        assert sso_sign_in(client, connection, ANN).status_code == 303
        rotating.rotate("2026-b")
        client.cookies.clear()
        # Refetches of the key set are rate-limited: a token naming an unknown key a moment after the last fetch
        # is refused rather than sending this server to the provider again ...
        assert sso_sign_in(client, connection, ANN).status_code == 401
        assert refused_because(caplog, "signature does not verify")
        # ... and some seconds later the new key is fetched, and the sign-in goes on.
        clock.advance(seconds=11)
        assert sso_sign_in(client, connection, ANN).headers["location"] == "/admin" and signed_in(client)
    finally:
        rotating.stop()


def test_one_network_starts_a_bounded_number_of_sign_ins(
    client: Any, engine: Any, clock: Any, migrated: Any, provider: Any
) -> None:
    from licentia.server.sso.attempts import MAX_STARTS_PER_NETWORK

    connection = admin_connection(engine, clock, migrated, provider)
    for _ in range(MAX_STARTS_PER_NETWORK):
        assert client.get(f"/admin/sso/start/{connection}", follow_redirects=False).status_code == 303
    refused = client.get(f"/admin/sso/start/{connection}", follow_redirects=False)
    assert refused.status_code == 429 and "Too many sign-ins" in refused.text
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM sso_attempts")).scalar_one() == MAX_STARTS_PER_NETWORK
