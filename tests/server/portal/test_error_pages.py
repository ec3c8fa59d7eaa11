"""Every error a customer's browser can reach in the portal is a page with a way back; API clients keep JSON."""

from __future__ import annotations

import re
from typing import Any

from tests.server.admin_fixtures import form_token
from tests.server.portal.conftest import ANN, sign_in

BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


def _page_of(answer: Any) -> tuple[str, str]:
    assert answer.headers["content-type"].startswith("text/html"), answer.text
    reason = re.search(r'<p id="reason">([^<]*)</p>', answer.text)
    back = re.search(r'<a href="([^"]+)" id="back">', answer.text)
    assert reason and back, answer.text
    return reason.group(1), back.group(1)


def test_a_malformed_or_foreign_license_and_an_unknown_page_answer_pages(client: Any, shop: Any, smtp: Any) -> None:
    sign_in(client, smtp, ANN)
    reachable = {
        "/portal/licenses/abc": (422, "validation_error"),
        f"/portal/licenses/{shop.bob_license.id}": (404, "unknown_license"),  # another customer's: as a missing one
        "/portal/licenses/99999": (404, "unknown_license"),
        "/portal/no-such-page": (404, "not_found"),
    }
    for url, (status, code) in reachable.items():
        page = client.get(url, headers=BROWSER)
        assert page.status_code == status, url
        assert _page_of(page)[1] == "/portal", url
        for accept in ({"Accept": "application/json"}, {}):
            body = client.get(url, headers=accept)
            assert body.status_code == status and body.json()["error"]["code"] == code, (url, accept)
    reason, _ = _page_of(client.get("/portal/licenses/abc", headers=BROWSER))
    assert reason == "Nothing is found at this address: &#39;abc&#39; is not a valid license id."


def test_an_upload_too_large_on_the_offline_page_answers_a_page_leading_back_to_it(
    client: Any, shop: Any, smtp: Any, settings: Any
) -> None:
    sign_in(client, smtp, ANN)
    csrf = form_token(client.get("/portal/offline").text)
    too_large = b"x" * (settings.max_body_bytes + 1)
    sent = {"data": {"csrf": csrf}, "files": {"request": ("activation-request.txt", too_large, "text/plain")}}
    page = client.post("/portal/offline/activate", headers=BROWSER, **sent)
    assert page.status_code == 413
    assert _page_of(page) == (f"the request body is larger than {settings.max_body_bytes} bytes", "/portal/offline")
    body = client.post("/portal/offline/activate", headers={"Accept": "application/json"}, **sent)
    assert body.status_code == 413 and body.json()["error"]["code"] == "payload_too_large"
