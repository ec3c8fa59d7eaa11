"""An order reference names one purchase: issuing a second license with it is refused clearly
(409 `order_ref_in_use` naming the license that has it), never a 500, and nothing is written."""

from __future__ import annotations

import re
from typing import Any

import sqlalchemy as sa

from licentia.server.auth.tokens import create_token
from licentia.server.store.models import License, OutboxMessage, Purchase, table_of
from tests.server.admin_fixtures import csrf_of, make_admin, sign_in


def _counts(engine: Any) -> tuple[int, int, int]:
    with engine.connect() as conn:
        return tuple(  # type: ignore[return-value]
            conn.execute(sa.select(sa.func.count()).select_from(table_of(model))).scalar_one()
            for model in (License, Purchase, OutboxMessage)
        )


def test_developer_api_answers_409_naming_the_license(client: Any, engine: Any, clock: Any, product: Any) -> None:
    with engine.begin() as conn:
        token = create_token(conn, name="shop", scopes=["write"], now=clock.now(), created_by="test").token
    auth = {"Authorization": f"Bearer {token}"}
    body = {"product": "acme", "email": "a@example.com", "order_ref": "ORD-1"}
    first = client.post("/v1/admin/licenses", json=body, headers=auth)
    assert first.status_code == 201
    before = _counts(engine)
    again = client.post("/v1/admin/licenses", json={**body, "email": "b@example.com"}, headers=auth)
    assert again.status_code == 409, again.text
    error = again.json()["error"]
    assert error["code"] == "order_ref_in_use"
    assert f"license {first.json()['id']} ({first.json()['key_prefix']}" in error["message"]
    assert _counts(engine) == before
    # The reference is unique per source: another shop system may use the same number.
    assert client.post("/v1/admin/licenses", json={**body, "source": "other-shop"}, headers=auth).status_code == 201


def test_admin_form_shows_the_error_next_to_the_field_with_a_link(
    client: Any, engine: Any, clock: Any, product: Any
) -> None:
    make_admin(engine, clock)
    sign_in(client)
    csrf = csrf_of(client)
    form = {"csrf": csrf, "product": "acme", "email": "bob@example.com", "order_ref": "INV-77", "send_email": "on"}
    assert client.post("/admin/licenses", data=form).status_code == 200
    with engine.connect() as conn:
        first = conn.execute(sa.select(table_of(License))).one()
    before = _counts(engine)

    refused = client.post("/admin/licenses", data={**form, "email": "carol@example.com", "name": "Carol"})
    assert refused.status_code == 409
    field = re.search(r'name="order_ref"[^>]*>(.*?)</label>', refused.text, re.S)
    assert field, "the order reference field is missing"
    assert 'aria-invalid="true"' in refused.text and 'value="INV-77"' in refused.text
    assert f'href="/admin/licenses/{first.id}"' in field.group(1) and first.key_prefix in field.group(1)
    # What was typed comes back, so nothing has to be entered twice.
    assert 'value="carol@example.com"' in refused.text and 'value="Carol"' in refused.text
    assert _counts(engine) == before


def test_other_refusals_keep_the_form_filled(client: Any, engine: Any, clock: Any, product: Any) -> None:
    make_admin(engine, clock)
    sign_in(client)
    form = {"csrf": csrf_of(client), "product": "acme", "email": "dan@example.com", "expires": "2020-01-01"}
    refused = client.post("/admin/licenses", data=form)
    assert refused.status_code == 400 and "the expiry date is in the past" in refused.text
    assert 'value="dan@example.com"' in refused.text and 'value="2020-01-01"' in refused.text
