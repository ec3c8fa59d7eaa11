"""What a redirect tells the next page travels sealed in a cookie: never in the URL, never from another session.

``/admin/?done=All licenses were revoked. Call ...`` once showed its text as the
system's message: a link anyone writes, shown to the vendor's staff in the UI's
own frame. A flash is sealed with the server's key, bound to its session, and
shown once, within a minute.
"""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from licentia.server.app import create_app
from tests.server.admin_fixtures import csrf_of, make_admin, sign_in

PHISHING = "All licenses were revoked. Call +1 555 0100 to restore them."


def _published(client: Any, csrf: str, version: str = "1.0") -> Any:
    return client.post(
        "/admin/releases", data={"csrf": csrf, "product": "acme", "version": version}, follow_redirects=False
    )


def test_a_message_written_into_the_url_is_never_shown(client: Any, engine: Any, clock: Any) -> None:
    make_admin(engine, clock)
    sign_in(client)
    for url in ("/admin/", "/admin/releases", "/admin/licenses"):
        for name in ("done", "error"):
            page = client.get(url, params={name: PHISHING})
            assert page.status_code == 200 and "Call +1 555" not in page.text
            assert 'class="flash' not in page.text


def test_an_action_confirms_itself_once_after_its_redirect(client: Any, engine: Any, clock: Any) -> None:
    make_admin(engine, clock)
    sign_in(client)
    done = _published(client, csrf_of(client))
    assert done.status_code == 303 and done.headers["location"] == "/admin/releases"  # nothing in the URL
    cookie = done.headers["set-cookie"]
    assert cookie.startswith("licentia_flash=") and "Published" not in cookie  # sealed, not readable
    assert all(part in cookie for part in ("HttpOnly", "Max-Age=60", "Path=/admin", "SameSite=lax"))
    shown = client.get("/admin/releases")
    assert '<p class="flash ok" role="status">Version 1.0 published.</p>' in shown.text
    assert 'licentia_flash=""' in shown.headers["set-cookie"]  # dropped once shown
    assert "Version 1.0 published." not in client.get("/admin/releases").text
    # The same version again is refused: the form answers at once, filled, the error beside its field.
    refused = _published(client, csrf_of(client), version="1.0")
    assert refused.status_code == 409 and "already" in refused.text.split('id="version-error"')[1].split("</span>")[0]


def test_a_flash_from_another_session_a_stale_one_or_a_forged_one_shows_nothing(
    client: Any, engine: Any, clock: Any, migrated: Any
) -> None:
    make_admin(engine, clock)
    make_admin(engine, clock, email="bea@vendor.example")
    sign_in(client)
    sealed = _published(client, csrf_of(client)).cookies["licentia_flash"]
    client.cookies.delete("licentia_flash")
    with TestClient(create_app(migrated, clock=clock)) as other:
        sign_in(other, email="bea@vendor.example")
        other.cookies.set("licentia_flash", sealed, path="/admin")
        assert "Version 1.0 published." not in other.get("/admin/releases").text  # bound to Ann's session
    for forged in ("not-a-sealed-message", sealed[:-4] + "AAAA"):
        client.cookies.set("licentia_flash", forged, path="/admin")
        page = client.get("/admin/releases")
        assert page.status_code == 200 and 'class="flash' not in page.text
        client.cookies.delete("licentia_flash")
    client.cookies.set("licentia_flash", sealed, path="/admin")
    clock.advance(seconds=61)
    assert "Version 1.0 published." not in client.get("/admin/releases").text  # a flash lives one minute
