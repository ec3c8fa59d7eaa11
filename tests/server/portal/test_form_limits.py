"""Every portal form is held to the server's rules, whatever the browser was told (as the admin forms are)."""

from __future__ import annotations

from typing import Any

from tests.server.portal.conftest import ANN, sign_in
from tests.server.test_form_limits import LONG, Forms, stored_long_values


def test_every_portal_form_refuses_a_value_too_long_for_its_field(
    client: Any, shop: Any, smtp: Any, engine: Any
) -> None:
    sign_in(client, smtp, ANN)
    pages = ["/portal/signin", "/portal/link?token=abc", "/portal", f"/portal/licenses/{shop.ann_license.id}"]
    answers = []
    for url in [*pages, "/portal/offline"]:
        parsed = Forms()
        parsed.feed(client.get(url).text)
        for form in parsed.forms:
            if not form["post"] or form["action"].endswith("/signout"):
                continue
            for name in form["typed"]:
                answer = client.post(form["action"] or url, data={**form["fields"], name: LONG})
                answers.append((form["action"], name, answer.status_code))
    assert {action for action, _name, _status in answers} >= {
        "/portal/signin",
        "/portal/link",
        "/portal/offline/activate",
        "/portal/offline/deactivate",
    }
    assert any("/free" in action for action, _name, _status in answers)
    assert [a for a in answers if a[2] >= 500] == [], answers
    assert stored_long_values(engine) == []
    assert "2 of 5 used" in client.get(f"/portal/licenses/{shop.ann_license.id}").text  # no seat was freed
