"""Every admin form is held to the developer API's rules on the server, whatever the browser was told.

The ``maxlength`` of an input is advice to the browser; a form posted without it
(a script, an edited page) must meet the same field types the developer API's
bodies declare (``server/fields.py``, the domains' ``schemas.py``). A refusal
comes back as the form's error: never a 500 (PostgreSQL's columns are sized and
refuse a longer value), never a value cut to fit and saved (SQLite keeps it whole).
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

import sqlalchemy as sa

from licentia.server.auth.tokens import create_token
from licentia.server.store.models import Customer, License, OutboxMessage, Policy, Release, Webhook, table_of
from tests.server.admin_fixtures import csrf_of, make_admin, sign_in
from tests.server.helpers import Installation

LONG = "x" * 20001
# What a person would type where the page gives no value, so each form passes all but the field under test.
TYPED = {
    "slug": "second-app",
    "name": "Name",
    "version": "1.0.0",
    "email": "carol@example.com",
    "password": "correct horse battery staple",
    "url": "https://hooks.example.com/licentia",
    "external_id": "price_123",
    "product": "acme",
    "reason": "refund",
    "days": "5",
    "transfers": "1",
    "max_devices": "2",
    "reply_to": "support@example.com",
    "request_text": "{}",
    "proof_text": "{}",
}


def _signed_in(client: Any, engine: Any, clock: Any) -> str:
    make_admin(engine, clock)
    sign_in(client)
    return csrf_of(client)


def _count(engine: Any, model: Any) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table_of(model))).scalar_one())


def test_a_20000_character_customer_name_is_refused_by_the_issue_form(
    client: Any, engine: Any, clock: Any, product: Any
) -> None:
    csrf = _signed_in(client, engine, clock)
    refused = client.post(
        "/admin/licenses", data={"csrf": csrf, "product": "acme", "email": "bob@example.com", "name": "N" * 20000}
    )
    assert refused.status_code == 422
    # The error stands beside the name, the form comes back open with what was typed.
    assert re.search(r'name="name"[^>]*aria-invalid="true"', refused.text)
    assert "name: String should have at most 200 characters" in refused.text
    assert (_count(engine, Customer), _count(engine, License), _count(engine, OutboxMessage)) == (0, 0, 0)
    # The longest name the developer API takes is issued, whole.
    issued = client.post(
        "/admin/licenses", data={"csrf": csrf, "product": "acme", "email": "bob@example.com", "name": "N" * 200}
    )
    assert issued.status_code == 200 and 'id="license-key"' in issued.text
    with engine.connect() as conn:
        assert conn.execute(sa.select(table_of(Customer).c.name)).scalar_one() == "N" * 200


def test_a_500_character_version_is_refused_by_the_publish_form(
    client: Any, engine: Any, clock: Any, product: Any
) -> None:
    csrf = _signed_in(client, engine, clock)
    refused = client.post("/admin/releases", data={"csrf": csrf, "product": "acme", "version": "9" * 500})
    assert refused.status_code == 422 and refused.url.path == "/admin/releases"
    beside = refused.text.split('id="version-error"')[1].split("</span>")[0]
    assert "version: String should have at most 64 characters" in beside and 'value="' + "9" * 500 in refused.text
    notes = client.post(
        "/admin/releases", data={"csrf": csrf, "product": "acme", "version": "2.0", "notes": "n" * 20001}
    )
    assert "notes: String should have at most 20000 characters" in notes.text
    assert _count(engine, Release) == 0
    published = client.post("/admin/releases", data={"csrf": csrf, "product": "acme", "version": "9" * 64})
    assert f"Version {'9' * 64} published." in published.text and _count(engine, Release) == 1


def test_the_developer_api_refuses_the_same_values_by_the_same_rule(client: Any, engine: Any, clock: Any) -> None:
    with engine.begin() as conn:
        token = create_token(conn, name="shop", scopes=["write"], now=clock.now(), created_by="test").token
    bearer = {"Authorization": f"Bearer {token}"}
    name = client.post(
        "/v1/admin/licenses", json={"product": "acme", "email": "b@example.com", "name": "N" * 20000}, headers=bearer
    )
    version = client.post("/v1/admin/releases", json={"product": "acme", "version": "9" * 500}, headers=bearer)
    assert name.json()["error"]["message"] == "name: String should have at most 200 characters"
    assert version.json()["error"]["message"] == "version: String should have at most 64 characters"
    assert name.status_code == version.status_code == 422


def test_a_reason_too_long_is_refused_not_cut(client: Any, engine: Any, clock: Any, product: Any) -> None:
    csrf = _signed_in(client, engine, clock)
    issued = client.post("/admin/licenses", data={"csrf": csrf, "product": "acme", "email": "bob@example.com"})
    key = re.search(r'id="license-key"><code>([^<]+)</code>', issued.text)
    assert key
    app = Installation(client, product.public_key)
    app.check()
    app.check("/v1/activate", key=key.group(1))
    license_id = _only_license(engine)
    revoke = client.post(f"/admin/licenses/{license_id}/revoke", data={"csrf": csrf, "reason": "r" * 201})
    assert revoke.status_code == 422 and "reason: String should have at most 200 characters" in revoke.text
    block = client.post(f"/admin/devices/{app.device_id}/block", data={"csrf": csrf, "reason": "r" * 201})
    assert block.status_code == 422
    assert app.check()["status"] == "registered"  # neither the revoke nor the block ran


def _only_license(engine: Any) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.select(table_of(License).c.id)).scalar_one())


class Forms(HTMLParser):
    """The POST forms of a page: action, every named field with its value, and which fields a person types in."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict[str, Any]] = []
        self._form: dict[str, Any] | None = None
        self._select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self._form = {"action": a.get("action", ""), "post": a.get("method", "").lower() == "post"}
            self._form.update(fields={}, typed=[])
            self.forms.append(self._form)
            return
        form = self._form
        if form is None:
            return
        if tag == "option" and self._select and (not form["fields"].get(self._select) or "selected" in a):
            form["fields"][self._select] = a.get("value", "")
        if tag not in ("input", "textarea", "select") or not a.get("name"):
            return
        kind = a.get("type", "text" if tag == "input" else tag).lower()
        self._select = a["name"] if tag == "select" else None
        if kind == "checkbox":
            if "checked" in a:
                form["fields"][a["name"]] = "on"
        elif kind not in ("submit", "button", "file"):
            form["fields"].setdefault(a["name"], a.get("value", ""))
            if a["name"] != "csrf":
                form["typed"].append(a["name"])

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None


def stored_long_values(engine: Any) -> list[str]:
    """Every text column holding a run of the long value (whole, or cut to fit)."""
    found = []
    with engine.connect() as conn:
        metadata = sa.MetaData()
        metadata.reflect(conn)
        for table in metadata.tables.values():
            for column in table.columns:
                kind = str(column.type).upper()
                if not any(word in kind for word in ("CHAR", "TEXT", "JSON")):
                    continue
                text = sa.cast(column, sa.Text) if "JSON" in kind else column
                query = sa.select(sa.func.count()).select_from(table).where(text.like("%" + "x" * 60 + "%"))
                if conn.execute(query).scalar_one():
                    found.append(f"{table.name}.{column.name}")
    return found


def test_every_admin_form_refuses_a_value_too_long_for_its_field(
    client: Any, engine: Any, clock: Any, product: Any
) -> None:
    """Each field of each form of each page, in turn, given 20,001 characters: refused, nothing of it stored."""
    csrf = _signed_in(client, engine, clock)
    issued = client.post("/admin/licenses", data={"csrf": csrf, "product": "acme", "email": "bob@example.com"})
    key = re.search(r'id="license-key"><code>([^<]+)</code>', issued.text)
    assert key
    app = Installation(client, product.public_key)
    app.check()
    app.check("/v1/activate", key=key.group(1))
    client.post("/admin/webhooks", data={"csrf": csrf, "url": "https://hooks.example.com/a", "all_events": "on"})
    client.post("/admin/tokens", data={"csrf": csrf, "name": "shop", "scope": "read"})
    with engine.connect() as conn:
        ids = {
            model.__name__: conn.execute(sa.select(table_of(model).c.id)).scalars().first()
            for model in (License, Webhook, Policy, Customer)
        }
    pages = [
        *("/admin", "/admin/licenses", "/admin/devices", "/admin/customers", "/admin/products", "/admin/releases"),
        *("/admin/webhooks", "/admin/tokens", "/admin/admins", "/admin/account", "/admin/payments", "/admin/offline"),
        f"/admin/licenses/{ids['License']}",
        f"/admin/devices/{app.device_id}",
        f"/admin/customers/{ids['Customer']}",
        f"/admin/products/{product.id}",
        f"/admin/products/{product.id}/policies/{ids['Policy']}",
        f"/admin/webhooks/{ids['Webhook']}",
    ]
    tried, answers = set(), []
    for url in pages:
        parsed = Forms()
        parsed.feed(client.get(url).text)
        for form in parsed.forms:
            action = form["action"] or url
            kind = (re.sub(r"/[^/]*\d[^/]*", "/N", action), tuple(sorted(form["fields"])))
            if not form["post"] or action.endswith("/signout") or kind in tried:
                continue
            tried.add(kind)
            for name in form["typed"]:
                sent = {k: v or TYPED.get(k, "") for k, v in form["fields"].items()}
                answer = client.post(action, data={**sent, name: LONG, "csrf": csrf})
                answers.append((action, name, answer.status_code))
    assert len(tried) > 30, tried  # every page's forms were found
    assert not [a for a in answers if a[2] >= 500], answers
    assert stored_long_values(engine) == []
