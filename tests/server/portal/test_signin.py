"""Signing in to the portal by a one-time link read from a real SMTP server."""

from __future__ import annotations

import time

import sqlalchemy as sa

from tests.server.portal.conftest import ANN, ask_for_link, follow_link, link_in, sign_in, wait_for_mail


def test_link_signs_in_once_and_shows_only_own_licenses(client, shop, smtp):
    assert client.get("/portal", follow_redirects=False).headers["location"] == "/portal/signin"
    sign_in(client, smtp, ANN)
    home = client.get("/portal")
    assert home.status_code == 200
    assert shop.ann_license.key_prefix in home.text
    assert shop.bob_license.key_prefix not in home.text
    assert "2 of 5 used" in home.text
    mail = wait_for_mail(smtp, ANN)
    assert mail["Reply-To"] == "support@vendor.example"
    assert mail.get_body(preferencelist=("html",)) is not None
    # The cookie is HttpOnly and limited to the portal.
    cookie = client.cookies.jar
    assert any(c.name == "licentia_portal" and c.path == "/portal" for c in cookie)


def test_a_link_works_once(client, shop, smtp):
    ask_for_link(client, ANN)
    link = link_in(wait_for_mail(smtp, ANN))
    assert follow_link(client, link).status_code == 303
    client.cookies.clear()
    again = follow_link(client, link)
    assert again.status_code == 401
    assert "expired or was already used" in again.text
    assert client.get("/portal", follow_redirects=False).status_code == 303


def test_a_link_expires(client, shop, smtp, clock):
    ask_for_link(client, ANN)
    link = link_in(wait_for_mail(smtp, ANN))
    clock.advance(minutes=16)
    assert follow_link(client, link).status_code == 401


def test_unknown_address_gets_the_same_answer_and_no_email(client, shop, smtp):
    known = ask_for_link(client, ANN)
    unknown = ask_for_link(client, "nobody@nowhere.example")
    assert known.status_code == unknown.status_code == 200
    strip = lambda text, email: text.replace(email, "EMAIL")  # noqa: E731
    assert strip(known.text, ANN) == strip(unknown.text, "nobody@nowhere.example")
    wait_for_mail(smtp, ANN)
    time.sleep(0.3)
    assert not [m for m in smtp.messages if "nobody@" in str(m["To"])]


def test_links_are_rate_limited_per_address_in_the_database(client, shop, smtp, engine):
    for _ in range(5):
        assert ask_for_link(client, ANN).status_code == 200
    refused = ask_for_link(client, ANN)
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    # An unknown address is limited the same way (no discovery through the limit).
    for _ in range(5):
        ask_for_link(client, "x@nowhere.example")
    assert ask_for_link(client, "x@nowhere.example").status_code == 429
    with engine.connect() as conn:
        buckets = conn.execute(sa.text("SELECT bucket FROM rate_limits")).scalars().all()
    assert any(b.startswith("portal_link:addr:") for b in buckets)


def test_tokens_are_stored_hashed_and_the_sent_link_is_forgotten(client, shop, smtp, engine):
    sign_in(client, smtp, ANN)
    link = link_in(wait_for_mail(smtp, ANN))
    token = link.split("token=")[1]
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        with engine.connect() as conn:
            dump = " ".join(
                str(r)
                for t in ("portal_signin_links", "portal_sessions", "outbox")
                for r in conn.execute(sa.text(f"SELECT * FROM {t}")).all()
            )
        if token not in dump:
            break
        time.sleep(0.05)
    assert token not in dump
    assert client.cookies.get("licentia_portal") not in dump


def test_dead_links_lock_out_the_network(client, shop, smtp):
    for i in range(20):
        assert follow_link(client, f"http://x/portal/link?token=guess{i}").status_code == 401
    ask_for_link(client, ANN)
    locked = follow_link(client, link_in(wait_for_mail(smtp, ANN)))
    assert locked.status_code == 429


def test_session_expires(client, shop, smtp, clock):
    sign_in(client, smtp, ANN)
    assert client.get("/portal").status_code == 200
    clock.advance(hours=13)
    assert client.get("/portal", follow_redirects=False).status_code == 303


def test_sign_out_needs_the_csrf_token_and_ends_the_session(client, shop, smtp):
    sign_in(client, smtp, ANN)
    assert client.post("/portal/signout", data={"csrf": "forged"}).status_code == 403
    assert client.get("/portal").status_code == 200
    from tests.server.admin_fixtures import form_token

    token = form_token(client.get("/portal").text)
    assert client.post("/portal/signout", data={"csrf": token}, follow_redirects=False).status_code == 303
    assert client.get("/portal", follow_redirects=False).status_code == 303


def test_non_ascii_csrf_fields_are_refused_not_crashed(client, shop, smtp):
    page = client.get("/portal/signin")
    assert client.post("/portal/signin", data={"email": ANN, "csrf": "é"}).status_code == 403
    assert page.status_code == 200
    sign_in(client, smtp, ANN)
    assert client.post("/portal/signout", data={"csrf": "é"}).status_code == 403


def test_the_signin_email_names_the_product_and_its_link_is_clickable(client, shop, smtp):
    ask_for_link(client, ANN)
    message = wait_for_mail(smtp, ANN)
    assert message["Subject"] == "Your sign-in link for Acme Editor"
    link = link_in(message)
    html = message.get_body(preferencelist=("html",)).get_content()
    assert f"<a href='{link.replace('&', '&amp;')}'>" in html
