"""Every error a browser can reach in the admin UI is a page in its frame with a way back; API clients keep JSON.

A browser names HTML in its ``Accept``; an unknown or malformed id in the path,
a refused change, a body too large then answer a page with the error's status
kept. The same addresses asked for JSON (or with no preference, as ``curl``
asks) answer the JSON error bodies, as every API does.
"""

from __future__ import annotations

import re
from typing import Any

from licentia.server.auth.accounts import create_admin
from tests.server.admin_fixtures import PASSWORD, csrf_of, make_admin, sign_in

BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"}
API_CLIENTS = ({"Accept": "application/json"}, {"Accept": "*/*"})
# Address -> (status, error code of the JSON body, where the page leads back).
REACHABLE = {
    "/admin/licenses/abc": (422, "validation_error", "/admin/licenses"),
    "/admin/licenses/99999": (404, "not_found", "/admin/licenses"),
    "/admin/licenses/99999999999999999999": (422, "validation_error", "/admin/licenses"),
    "/admin/devices/no-such-device": (404, "not_found", "/admin/devices"),
    "/admin/customers/0": (422, "validation_error", "/admin/customers"),
    "/admin/products/7/policies/x": (422, "validation_error", "/admin/products"),
    "/admin/webhooks/12345": (404, "not_found", "/admin/webhooks"),
    "/admin/releases?product=abc": (422, "validation_error", "/admin/releases"),
    "/admin/no-such-page": (404, "not_found", "/admin"),
    # The evidence report's "signed JSON" link: a download when it works, a page when it does not.
    "/admin/licenses/99999/evidence?format=json": (404, "not_found", "/admin/licenses"),
    "/admin/licenses/1/evidence?format=pdf": (422, "validation_error", "/admin/licenses"),
}


def _page_of(answer: Any) -> tuple[str, str]:
    """The refusal's sentence and where its link leads back."""
    assert answer.headers["content-type"].startswith("text/html"), answer.text
    reason = re.search(r'<p id="reason">([^<]*)</p>', answer.text)
    back = re.search(r'<a href="([^"]+)" id="back">', answer.text)
    assert reason and back, answer.text
    return reason.group(1), back.group(1)


def test_a_browser_gets_a_page_with_a_way_back_for_each_error_an_address_can_reach(
    client: Any, engine: Any, clock: Any, product: Any
) -> None:
    make_admin(engine, clock)
    sign_in(client)
    for url, (status, _code, back) in REACHABLE.items():
        answer = client.get(url, headers=BROWSER)
        assert answer.status_code == status, url
        _reason, back_to = _page_of(answer)
        assert back_to == back, url
        assert "Content-Security-Policy" in answer.headers  # the UI's own frame, with its headers
    reason, _ = _page_of(client.get("/admin/licenses/abc", headers=BROWSER))
    assert reason == "Nothing is found at this address: &#39;abc&#39; is not a valid license id."
    framed = client.get("/admin/licenses/abc", headers=BROWSER).text  # the navigation, its area lit
    assert '<a href="/admin/licenses" class="active" aria-current="page">Licenses</a>' in framed


def test_api_clients_keep_the_json_errors_at_the_same_addresses(
    client: Any, engine: Any, clock: Any, product: Any
) -> None:
    make_admin(engine, clock)
    sign_in(client)
    for url, (status, code, _back) in REACHABLE.items():
        for accept in API_CLIENTS:
            answer = client.get(url, headers=accept)
            assert answer.status_code == status, (url, accept)
            assert answer.json()["error"]["code"] == code, (url, accept)


def test_a_role_refusal_and_a_body_too_large_are_pages_too(
    client: Any, engine: Any, clock: Any, product: Any, settings: Any
) -> None:
    make_admin(engine, clock)
    with engine.begin() as conn:
        create_admin(conn, email="vera@vendor.example", password=PASSWORD, actor="t", now=clock.now(), role="viewer")
    sign_in(client, "vera@vendor.example")
    csrf = csrf_of(client)
    refused = client.post("/admin/releases", data={"csrf": csrf, "version": "1.0"}, headers=BROWSER)
    assert refused.status_code == 403
    assert _page_of(refused) == (
        "Your role (viewer) cannot make this change: it needs the staff role. Ask an owner.",
        "/admin/releases",
    )
    assert client.post("/admin/releases", data={"csrf": csrf}).json()["error"]["code"] == "forbidden"

    too_large = {"csrf": csrf, "notes": "n" * (settings.max_body_bytes + 1)}
    page = client.post("/admin/releases", data=too_large, headers=BROWSER)
    assert page.status_code == 413
    assert _page_of(page) == (f"the request body is larger than {settings.max_body_bytes} bytes", "/admin/releases")
    body = client.post("/admin/releases", data=too_large, headers={"Accept": "application/json"})
    assert body.status_code == 413 and body.json()["error"]["code"] == "payload_too_large"
    assert (
        client.post("/v1/admin/releases", data=too_large, headers=BROWSER).json()["error"]["code"]
        == "payload_too_large"
    )
