"""Hitek's proxy-log trail on the server: off by default, a GET recorded once however often it comes,
linked to the POSTed event of the same id in the evidence and the Hitek export, bad queries refused with
``invalid_trail`` (never a 500), the one-time usage post in the signed document; both databases."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import sqlalchemy as sa

from licentia.core.trail import trail_targets
from licentia.server.auth.tokens import create_token
from licentia.server.evidence.hitek import hitek_page
from licentia.server.evidence.report import build_document
from licentia.server.evidence.retention import purge_facts
from licentia.server.evidence.subjects import device_subject
from licentia.server.licenses.service import issue_license
from licentia.server.products.changes import change_privacy, change_proxy_trail
from licentia.server.products.test_mode import set_test_mode
from licentia.server.store.tables import audit_entries, events, test_posts, trail_requests
from tests.server.admin_fixtures import csrf_of, make_admin, sign_in
from tests.server.helpers import Installation, auth

FACTS = {"computer_name": "LAB-7", "user_name": "Ann Smith", "author_1": "R&D = 100%"}


def _trail(engine: Any, **on: bool) -> None:
    with engine.begin() as conn:
        product_id = conn.execute(sa.text("SELECT id FROM products WHERE slug = 'acme'")).scalar_one()
        change_proxy_trail(
            conn,
            product_id=product_id,
            proxy_trail=on.get("proxy_trail", True),
            usage_report_once=on.get("usage_report_once", False),
            actor="admin:ann",
            now=dt.datetime(2026, 1, 5, tzinfo=dt.UTC),
        )


def _rows(engine: Any, table: Any) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(sa.select(table).order_by(table.c.id)).all())


def test_the_trail_is_off_by_default_refused_and_nothing_recorded(client: Any, product: Any, engine: Any) -> None:
    doc = Installation(client, product.public_key).check()
    assert "proxy_trail" not in doc and "usage_report_once" not in doc and "registered_at" not in doc
    (target,) = trail_targets("acme", "install", "e1", FACTS)
    answer = client.get(target)
    assert answer.status_code == 404 and answer.json()["error"]["code"] == "trail_off"
    # An unknown product is answered the same: the endpoint tells nothing of which products exist.
    unknown = client.get(target.replace("p=acme", "p=nobody"))
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "trail_off"
    assert _rows(engine, trail_requests) == []


def test_get_then_post_is_recorded_once_and_shown_with_the_event(
    client: Any, product: Any, engine: Any, clock: Any
) -> None:
    with engine.begin() as conn:
        change_privacy(conn, product_id=product.id, collect_facts=True, retention_days=30, actor="t", now=clock.now())
    _trail(engine)
    app = Installation(client, product.public_key)
    assert app.check()["proxy_trail"] is True and app.credential is not None
    fields = {"version": "4.2", **FACTS}
    targets = trail_targets("acme", "install", "ev-1", fields)
    for _ in range(3):  # a flush retried: the GETs come again, the POST too
        for target in targets:
            answer = client.get(target)
            assert answer.status_code == 204 and answer.content == b""
        event = {"id": "ev-1", "kind": "install", "data": {"app_version": "4.2"}, "facts": FACTS}
        client.post("/v1/events", json={"events": [event]}, headers=auth(app.credential)).raise_for_status()

    (trail,) = _rows(engine, trail_requests)
    assert (trail.mode, trail.client_event_id, trail.part, trail.last) == ("install", "ev-1", 1, True)
    assert trail.fields == fields and trail.server_facts["external_ip"]
    with engine.connect() as conn:
        installs = conn.execute(sa.select(events).where(events.c.kind == "install")).all()
        report = build_document(device_subject(conn, app.device_id), now=dt.datetime.now(dt.UTC))
        lines, _ = hitek_page(conn, product="acme", after=0)
    assert [e.client_event_id for e in installs] == ["ev-1"]
    (shown,) = [e for e in report["events"] if e["kind"] == "install"]
    assert shown["trail"]["fields"] == fields and shown["trail"]["parts"] == 1 and shown["trail"]["whole"] is True
    assert shown["trail"]["external_ip"] == trail.server_facts["external_ip"]
    assert not any("trail" in e for e in report["events"] if e["kind"] != "install")
    assert len(lines) == 1 and lines[0].startswith("install\tacme\t")  # one Hitek row for GET and POST
    make_admin(engine, clock)
    sign_in(client)
    page = client.get(f"/admin/devices/{app.device_id}/evidence")
    assert page.status_code == 200 and f"also sent as GET at {shown['trail']['received_at']}" in page.text


def test_a_trail_in_several_parts_is_whole_once_its_last_part_came(
    client: Any, product: Any, engine: Any, clock: Any
) -> None:
    with engine.begin() as conn:
        change_privacy(conn, product_id=product.id, collect_facts=True, retention_days=30, actor="t", now=clock.now())
    _trail(engine)
    long = {f"tracker_{n}": "x" * 450 for n in range(1, 11)}
    targets = trail_targets("acme", "usage", "ev-9", long)
    assert len(targets) == 3 and all(len(t) <= 2000 for t in targets)
    for target in targets:
        assert client.get(target).status_code == 204
    rows = _rows(engine, trail_requests)
    assert [(r.part, r.last) for r in rows] == [(1, False), (2, False), (3, True)]
    assert {k: v for r in rows for k, v in r.fields.items()} == long


def test_client_facts_off_keeps_the_version_only(client: Any, product: Any, engine: Any) -> None:
    _trail(engine)
    (target,) = trail_targets("acme", "install", "ev-2", {"version": "4.2", **FACTS})
    assert client.get(target).status_code == 204
    assert _rows(engine, trail_requests)[0].fields == {"version": "4.2"}


@pytest.mark.parametrize(
    ("query", "why"),
    [
        ("", "missing"),
        ("p=acme&m=install&i=e1", "missing n"),
        ("p=acme&m=install&i=e1&n=1&key=ABCDE-12345", "unknown field"),
        ("p=acme&m=install&i=e1&n=1&secret=x", "unknown field"),
        ("p=acme&m=check&i=e1&n=1", "m is one of"),
        ("p=acme&m=install&i=e%20space&n=1", "i is an event id"),
        ("p=acme&m=install&i=e1&n=0", "n is a part number"),
        ("p=acme&m=install&i=e1&n=01", "n is a part number"),
        ("p=acme&m=install&i=e1&n=1&n=2", "given twice"),
        ("p=acme&m=install&i=e1&n=1&end=2", "end"),
        ("p=acme&m=install&i=e1&n=1&user_name=%FF%FE", "not UTF-8"),
        ("p=acme&m=install&i=e1&n=1&user_name", "has no value"),
        ("p=ACME!&m=install&i=e1&n=1", "not a product slug"),
        ("p=acme&m=install&i=e1&n=1&tracker_1=" + "x" * 2000, "longer than 2000"),
    ],
)
def test_bad_trail_queries_are_refused_with_a_stable_code(
    client: Any, product: Any, engine: Any, query: str, why: str
) -> None:
    _trail(engine)
    answer = client.get(f"/v1/trail?{query}")
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["code"] == "invalid_trail" and why in answer.json()["error"]["message"]
    assert _rows(engine, trail_requests) == []


def test_the_setting_is_audited_and_usage_once_names_the_registration(
    client: Any, product: Any, engine: Any, clock: Any
) -> None:
    _trail(engine, usage_report_once=True)
    with engine.connect() as conn:
        (entry,) = conn.execute(sa.select(audit_entries).where(audit_entries.c.action == "product.proxy_trail")).all()
    assert entry.details == {"proxy_trail": True, "usage_report_once": True} and entry.actor == "admin:ann"
    with engine.begin() as conn:
        lic = issue_license(conn, product="acme", email="buyer@example.com", now=clock.now())
    app = Installation(client, product.public_key)
    first = app.check()
    assert first["usage_report_once"] is True and "registered_at" not in first  # no license: nothing to count from
    activated = app.check("/v1/activate", key=lic.key)
    assert activated["status"] == "registered" and activated["registered_at"] == activated["issued_at"]
    clock.advance(days=3)
    assert app.check()["registered_at"] == activated["registered_at"]


def test_trail_rows_follow_the_facts_retention(client: Any, product: Any, engine: Any, clock: Any) -> None:
    _trail(engine)
    (target,) = trail_targets("acme", "install", "ev-3", {"version": "1"})
    assert client.get(target).status_code == 204
    with engine.begin() as conn:
        change_privacy(conn, product_id=product.id, collect_facts=True, retention_days=30, actor="t", now=clock.now())
    assert purge_facts(engine, now=clock.now() + dt.timedelta(days=29)).trails == 0
    assert purge_facts(engine, now=clock.now() + dt.timedelta(days=31)).trails == 1
    assert _rows(engine, trail_requests) == []


def test_a_product_in_test_mode_keeps_its_trail_apart(client: Any, product: Any, engine: Any, clock: Any) -> None:
    _trail(engine)
    with engine.begin() as conn:
        set_test_mode(conn, product_id=product.id, on=True, email=None, actor="t", now=clock.now())
    (target,) = trail_targets("acme", "register", "ev-4", {"version": "1"})
    assert client.get(target).status_code == 204
    assert _rows(engine, trail_requests) == []
    (kept,) = _rows(engine, test_posts)
    assert kept.action == "trail" and kept.body["id"] == "ev-4" and kept.body["mode"] == "register"


def test_the_developer_api_and_the_admin_ui_switch_it(client: Any, product: Any, engine: Any, clock: Any) -> None:
    with engine.begin() as conn:
        token = create_token(conn, name="shop", scopes=["read", "write"], now=clock.now(), created_by="test").token
    bearer = {"Authorization": f"Bearer {token}"}
    assert client.get("/v1/admin/products/acme/proxy-trail", headers=bearer).json() == {
        "proxy_trail": False,
        "usage_report_once": False,
    }
    changed = client.patch("/v1/admin/products/acme/proxy-trail", json={"proxy_trail": True}, headers=bearer)
    assert changed.json() == {"proxy_trail": True, "usage_report_once": False}
    refused = client.patch("/v1/admin/products/acme/proxy-trail", json={"proxy_trail": "maybe"}, headers=bearer)
    assert refused.status_code == 422
    assert Installation(client, product.public_key).check()["proxy_trail"] is True

    make_admin(engine, clock)
    sign_in(client)
    page = client.get(f"/admin/products/{product.id}")
    assert 'id="proxy-trail"' in page.text
    form = {"csrf": csrf_of(client), "usage_report_once": "on"}  # the trail's box unticked: off
    client.post(f"/admin/products/{product.id}/proxy-trail", data=form, follow_redirects=False)
    with engine.connect() as conn:
        actions = conn.execute(
            sa.select(audit_entries.c.actor, audit_entries.c.details)
            .where(audit_entries.c.action == "product.proxy_trail")
            .order_by(audit_entries.c.id)
        ).all()
    assert [a.details for a in actions] == [
        {"proxy_trail": True, "usage_report_once": False},
        {"proxy_trail": False, "usage_report_once": True},
    ]
    assert "shop" in actions[0].actor
