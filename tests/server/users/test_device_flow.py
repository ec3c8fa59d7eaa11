"""The device sign-in (RFC 8628) in-process: the application asks, the person confirms in the portal, the app polls.

The portal sign-in is the real one (an emailed link through a real SMTP
server); the server's clock is moved to expire codes and to poll on time.
"""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.server.helpers import auth
from tests.server.portal.conftest import sign_in as portal_sign_in
from tests.server.users.conftest import app, authorize, poll, portal_post

LEAD = "lead@team.example"


def error_of(answer: Any) -> str:
    return answer.json()["error"]["code"]


def person(client: Any, smtp: Any, email: str = LEAD) -> TestClient:
    """A browser of ``email``'s, signed in to the portal by the link emailed to them."""
    browser = TestClient(client.app, base_url="http://testserver")
    portal_sign_in(browser, smtp, email)
    return browser


def test_the_app_polls_until_the_person_confirms_then_its_status_names_them(client, product, engine, clock, team, smtp):
    laptop = app(client, product, 1)
    grant = authorize(laptop).json()
    assert grant["verification_uri"].endswith("/portal/device") and grant["interval"] == 5
    assert grant["verification_uri_complete"].endswith("?code=" + grant["user_code"].replace("-", ""))
    assert grant["expires_in"] == 15 * 60 and len(grant["user_code"]) == 9
    assert error_of(poll(laptop, grant["device_code"])) == "authorization_pending"

    browser = person(client, smtp)
    page = browser.get("/portal/device", params={"code": grant["user_code"]})
    assert grant["user_code"] in page.text  # filled in, nothing confirmed yet
    shown = portal_post(browser, "/portal/device", code=grant["user_code"].lower())
    assert shown.status_code == 200 and "Acme Editor" in shown.text and 'id="machine"' in shown.text
    done = portal_post(browser, "/portal/device/approve", code=grant["user_code"])
    assert done.status_code == 200 and "You are signed in" in done.text, done.text

    clock.advance(seconds=5)
    answer = poll(laptop, grant["device_code"])
    assert answer.status_code == 200, answer.text
    doc = laptop.check()
    assert (doc["status"], doc["user"]) == ("registered", LEAD)
    # The device code is spent: a second poll with it (a replay) gets nothing.
    clock.advance(seconds=5)
    assert error_of(poll(laptop, grant["device_code"])) == "invalid_grant"


def test_polling_too_fast_slows_the_app_down(client, product, team):
    laptop = app(client, product, 1)
    grant = authorize(laptop).json()
    assert error_of(poll(laptop, grant["device_code"])) == "authorization_pending"
    too_soon = poll(laptop, grant["device_code"])
    assert too_soon.status_code == 400 and error_of(too_soon) == "slow_down"
    assert too_soon.json()["error"]["interval"] == 10


def test_a_code_expires_and_a_refused_one_is_denied(client, product, clock, team, smtp):
    laptop, desktop = app(client, product, 1), app(client, product, 2)
    late, refused = authorize(laptop).json(), authorize(desktop).json()
    browser = person(client, smtp)
    assert "Refused" in portal_post(browser, "/portal/device/deny", code=refused["user_code"]).text
    assert error_of(poll(desktop, refused["device_code"])) == "access_denied"
    clock.advance(minutes=16)
    assert error_of(poll(laptop, late["device_code"])) == "expired_token"
    gone = portal_post(browser, "/portal/device", code=late["user_code"])
    assert gone.status_code == 400 and 'data-code="invalid_user_code"' in gone.text
    assert laptop.check()["status"] == "trial"


def test_a_device_code_is_its_installations_alone(client, product, team):
    laptop, other = app(client, product, 1), app(client, product, 2)
    grant = authorize(laptop).json()
    assert error_of(poll(other, grant["device_code"])) == "invalid_grant"
    assert error_of(poll(laptop, "not-a-code")) == "invalid_grant"
    anonymous = client.post("/v1/device/authorize", json={"product": "acme"})
    assert anonymous.status_code == 401 and error_of(anonymous) == "invalid_credential"
    elsewhere = client.post("/v1/device/authorize", json={"product": "other"}, headers=auth(laptop.credential or {}))
    assert elsewhere.status_code == 404 and error_of(elsewhere) == "unknown_product"


def test_wrong_codes_are_rate_limited_per_person_and_a_typo_is_told_apart(client, product, team, smtp):
    browser = person(client, smtp)
    typo = portal_post(browser, "/portal/device", code="BCDF-GHJA")
    assert typo.status_code == 400 and "only consonants" in typo.text
    from licentia.core.usercodes import generate_user_code

    answers = [portal_post(browser, "/portal/device", code=generate_user_code()) for _ in range(11)]
    assert [a.status_code for a in answers] == [400] * 10 + [429]
    assert int(answers[-1].headers["Retry-After"]) > 0


def test_when_every_seat_is_taken_the_person_is_told_and_the_app_keeps_waiting(
    client, product, engine, clock, team, smtp
):
    from licentia.server.users.service import assign_user

    with engine.begin() as conn:  # the vendor names the team's two users: no seat is left for the buyer
        for email in ("ann@team.example", "bob@team.example"):
            assign_user(conn, license_id=team.id, email=email, actor="admin:vendor@example.com", now=clock.now())
    laptop = app(client, product, 1)
    grant = authorize(laptop).json()
    refused = portal_post(person(client, smtp), "/portal/device/approve", code=grant["user_code"])
    assert refused.status_code == 409 and 'data-code="no_user_seat"' in refused.text
    assert error_of(poll(laptop, grant["device_code"])) == "authorization_pending"
    # An assigned person signs in to the portal too (not the license's customer), and takes their seat.
    ann = person(client, smtp, "ann@team.example")
    assert "You are signed in" in portal_post(ann, "/portal/device/approve", code=grant["user_code"]).text


def test_a_person_not_yet_signed_in_comes_back_to_the_applications_code_after_the_emailed_link(
    client, product, team, smtp
):
    from tests.server.portal.conftest import ask_for_link, follow_link, link_in, wait_for_mail

    laptop = app(client, product, 1)
    grant = authorize(laptop).json()
    browser = TestClient(client.app, base_url="http://testserver")
    link = grant["verification_uri_complete"]
    opened = browser.get(link[link.index("/portal/") :], follow_redirects=False)
    assert opened.status_code == 303 and opened.headers["location"] == "/portal/signin"
    assert ask_for_link(browser, LEAD).status_code == 200
    back = follow_link(browser, link_in(wait_for_mail(smtp, LEAD)))
    code = grant["user_code"].replace("-", "")
    assert back.status_code == 303 and back.headers["location"] == f"/portal/device?code={code}"
    assert grant["user_code"] in browser.get(back.headers["location"]).text
    # Once used, the next sign-in leads to the licenses again; a forged cookie leads nowhere else.
    browser.cookies.set("licentia_portal_device_code", "https://evil.example/", path="/portal")
    assert ask_for_link(browser, LEAD).status_code == 200
    again = follow_link(browser, link_in(wait_for_mail(smtp, LEAD, 2)))
    assert again.headers["location"] == "/portal"
