"""Signing in to the admin UI from a TestClient, as a browser would (cookies, CSRF field)."""

from __future__ import annotations

import re
from typing import Any

PASSWORD = "correct horse battery"
EMAIL = "ann@vendor.example"


def make_admin(engine: Any, clock: Any, email: str = EMAIL, password: str = PASSWORD) -> None:
    from licentia.server.auth.accounts import create_admin

    with engine.begin() as conn:
        create_admin(conn, email=email, password=password, actor="test", now=clock.now())


def form_token(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "no CSRF field in the page"
    return found.group(1)


def sign_in(client: Any, email: str = EMAIL, password: str = PASSWORD) -> Any:
    page = client.get("/admin/signin")
    return client.post(
        "/admin/signin",
        data={"email": email, "password": password, "csrf": form_token(page.text)},
        follow_redirects=False,
    )


def csrf_of(client: Any) -> str:
    return form_token(client.get("/admin/devices").text)
