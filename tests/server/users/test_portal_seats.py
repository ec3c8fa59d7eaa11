"""A person named on a license they did not buy sees their seat on the portal's home (real SMTP sign-in)."""

from __future__ import annotations

import html
from typing import Any

from fastapi.testclient import TestClient

from tests.server.portal.conftest import sign_in as portal_sign_in

ANN = "ann@team.example"


def home_of(client: Any, smtp: Any, email: str, nth: int) -> str:
    """The portal's home as ``email`` sees it, signed in by the ``nth`` link emailed to them."""
    browser = TestClient(client.app, base_url="http://testserver")
    portal_sign_in(browser, smtp, email, nth)
    return html.unescape(browser.get("/portal").text)


def test_a_named_person_sees_their_seat_and_loses_it_when_freed(client, engine, clock, smtp, team) -> None:
    from licentia.server.users import service as users

    with engine.begin() as conn:
        users.assign_user(conn, license_id=team.id, email=ANN, actor="test", now=clock.now(), seat=False)
    page = home_of(client, smtp, ANN, 1)
    assert 'id="seats"' in page and "Given to you by lead@team.example" in page
    assert "You take a seat when you first sign in to the application" in page
    assert "No licenses for this address" not in page

    with engine.begin() as conn:
        users.assign_user(conn, license_id=team.id, email=ANN, actor="test", now=clock.now())
    assert "You hold a seat since" in home_of(client, smtp, ANN, 2)

    with engine.begin() as conn:
        users.free_user(conn, license_id=team.id, email=ANN, actor="test", now=clock.now())
    # Freed, she can no longer ask for a sign-in link (nothing names her): the portal says nothing more of it.
    with engine.connect() as conn:
        from licentia.server.users.reads import seats_of

        assert seats_of(conn, email=ANN) == []
