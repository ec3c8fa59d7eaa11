"""A product in test mode: each post is answered with itself, kept apart, emailed to the vendor through a real
SMTP server, and counted nowhere (dashboard, rollups, seats, evidence); both databases."""

from __future__ import annotations

import time
from typing import Any

import sqlalchemy as sa

from licentia.core.clock import to_iso
from licentia.server.admin.dashboard.figures import dashboard
from licentia.server.evidence.subjects import license_subject
from licentia.server.licenses.service import issue_license
from licentia.server.products.changes import change_privacy
from licentia.server.products.test_mode import set_test_mode
from licentia.server.rollups.service import days_between, refresh
from licentia.server.store.tables import audit_entries, devices, events, machines, outbox, test_posts
from tests.server.admin_fixtures import csrf_of, make_admin, sign_in
from tests.server.helpers import Installation
from tests.server.notify.test_license_email import deliver

FACTS = {"computer_name": "LAB-7", "user_name": "ann"}


def _count(engine: Any, table: Any) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


def _figures(engine: Any, product: Any, clock: Any) -> dict[str, Any]:
    """What the dashboard shows, from rollups rebuilt over the last week."""
    today = clock.now().date()
    with engine.begin() as conn:
        refresh(conn, days_between(today.replace(day=1), today))
        board = dashboard(conn, product_id=product.id, today=today, days=7)
    return {k: board[k] for k in ("totals", "ratio") if k in board} | {"raw": repr(board)}


def _mail(smtp: Any, settings: Any, clock: Any, count: int) -> list[Any]:
    deadline = time.monotonic() + 10
    while len(smtp.messages) < count and time.monotonic() < deadline:
        deliver(settings, clock)
        time.sleep(0.05)
    return smtp.messages


def test_test_mode_posts_are_echoed_kept_apart_emailed_and_never_counted(
    client: Any, engine: Any, clock: Any, product: Any, settings: Any, smtp: Any
) -> None:
    with engine.begin() as conn:
        lic = issue_license(conn, product="acme", email="buyer@example.com", now=clock.now())
    before = _figures(engine, product, clock)
    with engine.begin() as conn:
        change_privacy(conn, product_id=product.id, collect_facts=True, retention_days=30, actor="t", now=clock.now())
        set_test_mode(conn, product_id=product.id, on=True, email="dev@acme.example", actor="t", now=clock.now())

    app = Installation(client, product.public_key)
    checked = client.post("/v1/check", json=app.body(app_version="2.0", os="linux", facts=FACTS))
    assert checked.status_code == 200, checked.text
    echo = checked.json()
    assert echo["test_mode"] is True and echo["emailed_to"] == "dev@acme.example"
    post = echo["post"]
    assert (post["product"], post["action"], post["received_at"]) == ("acme", "check", to_iso(clock.now()))
    assert post["body"]["facts"] == FACTS and post["body"]["app_version"] == "2.0"
    assert post["body"]["fingerprint"]["components"] == app.fp["components"]  # echoed in full
    assert post["server"]["received_at"] == to_iso(clock.now()) and "external_ip" in post["server"]
    activated = client.post("/v1/activate", json=app.body(key=lic.key)).json()
    assert activated["post"]["action"] == "activate" and activated["post"]["body"]["key"] == lic.key

    # Kept apart: nothing in production tables, the key masked at rest, in the outbox only sealed.
    assert (_count(engine, devices), _count(engine, machines), _count(engine, events)) == (0, 0, 0)
    with engine.connect() as conn:
        kept = conn.execute(sa.select(test_posts).order_by(test_posts.c.id)).all()
        queued = [str(p) for p in conn.execute(sa.select(outbox.c.payload)).scalars()]
    assert [row.action for row in kept] == ["check", "activate"]
    assert kept[0].body["facts"] == FACTS and lic.key not in str(kept[1].body)
    assert len(queued) == 2 and not any(lic.key in payload for payload in queued)

    # Counted nowhere: the dashboard and rollups as before, no seat taken, no installation in the evidence.
    assert _figures(engine, product, clock) == before
    with engine.connect() as conn:
        subject = license_subject(conn, str(lic.id))
    assert subject.devices == [] and subject.events == []

    # Emailed to the vendor through the outbox, the key put back only in the sent message.
    mail = _mail(smtp, settings, clock, 2)
    assert [m["To"] for m in mail] == ["dev@acme.example"] * 2
    subjects = sorted(m["Subject"] for m in mail)
    assert subjects == [
        f"[test mode] Acme Editor: activate #{kept[1].id}",
        f"[test mode] Acme Editor: check #{kept[0].id}",
    ]
    bodies = {m["Subject"].split(":")[1].split("#")[0].strip(): m.get_content() for m in mail}
    assert "LAB-7" in bodies["check"] and lic.key in bodies["activate"]

    # Test mode off: the same application counts again, from its first contact.
    with engine.begin() as conn:
        set_test_mode(conn, product_id=product.id, on=False, email=None, actor="t", now=clock.now())
    assert app.check()["status"] == "trial" and _count(engine, devices) == 1
    assert _figures(engine, product, clock) != before
    assert _count(engine, test_posts) == 2


def test_the_product_page_switches_test_mode_and_shows_test_posts_apart(
    client: Any, engine: Any, clock: Any, product: Any
) -> None:
    make_admin(engine, clock)
    sign_in(client)
    csrf = csrf_of(client)
    url = f"/admin/products/{product.id}"
    refused = client.post(f"{url}/test-mode", data={"csrf": csrf, "test_mode": "on", "test_email": "not an address"})
    assert "test_email: String should match pattern" in refused.text
    done = client.post(
        f"{url}/test-mode",
        data={"csrf": csrf, "test_mode": "on", "test_email": "dev@acme.example"},
        follow_redirects=False,
    )
    assert done.status_code == 303 and done.headers["location"] == url
    page = client.get(url).text
    assert "Test mode on: posts are kept apart and echoed." in page
    assert 'value="dev@acme.example"' in page and 'id="test-posts"' in page and "No test post yet." in page

    Installation(client, product.public_key).call("/v1/check", app_version="3.1", facts=FACTS)
    section = client.get(url).text
    section = section[section.index('id="test-mode"') :]
    rows = section[section.index('id="test-posts"') : section.index("</table>")]
    # Client facts are off for this product: as in production, none of them is kept.
    assert rows.count('class="test-post"') == 1 and "3.1" in rows and "LAB-7" not in rows
    with engine.connect() as conn:  # the refused change wrote nothing; the one made is audited
        entry = conn.execute(sa.select(audit_entries).where(audit_entries.c.action == "product.test_mode")).one()
    assert entry.details == {"test_mode": True, "test_email": "dev@acme.example"}
    assert "Turned test mode on for" in client.get("/admin/audit").text
    # The production lists show nothing of it.
    assert _count(engine, devices) == 0 and "LAB-7" not in client.get("/admin/devices").text


def test_the_developer_api_switches_test_mode_lists_its_posts_and_retention_deletes_them(
    client: Any, engine: Any, clock: Any, product: Any
) -> None:
    import datetime as dt

    from licentia.server.auth.tokens import create_token
    from licentia.server.evidence.retention import purge_facts

    with engine.begin() as conn:
        write = create_token(conn, name="ci", scopes=["write"], now=clock.now(), created_by="test").token
        read = create_token(conn, name="look", scopes=["read"], now=clock.now(), created_by="test").token
        change_privacy(conn, product_id=product.id, collect_facts=True, retention_days=30, actor="t", now=clock.now())
    w, r = {"Authorization": f"Bearer {write}"}, {"Authorization": f"Bearer {read}"}
    assert client.get("/v1/admin/products/acme/test-mode", headers=r).json() == {"test_mode": False, "test_email": None}
    assert client.patch("/v1/admin/products/acme/test-mode", json={"test_mode": True}, headers=r).status_code == 403
    on = client.patch(
        "/v1/admin/products/acme/test-mode", json={"test_mode": True, "test_email": "dev@acme.example"}, headers=w
    )
    assert on.json() == {"test_mode": True, "test_email": "dev@acme.example"}, on.text
    bad = client.patch("/v1/admin/products/acme/test-mode", json={"test_email": "not an address"}, headers=w)
    assert bad.status_code in (400, 422) and "error" in bad.json()
    assert client.get("/v1/admin/products/nope/test-mode", headers=r).status_code == 404

    app = Installation(client, product.public_key)
    assert client.post("/v1/check", json=app.body(app_version="2.0")).json()["test_mode"] is True
    posts = client.get("/v1/admin/products/acme/test-posts", headers=r).json()
    assert [(p["action"], p["body"]["app_version"]) for p in posts] == [("check", "2.0")]
    off = client.patch("/v1/admin/products/acme/test-mode", json={"test_mode": False}, headers=w).json()
    assert off == {"test_mode": False, "test_email": "dev@acme.example"}
    with engine.connect() as conn:
        actions = (
            conn.execute(sa.select(audit_entries.c.actor).where(audit_entries.c.action == "product.test_mode"))
            .scalars()
            .all()
        )
    assert actions == ["token:ci", "token:ci"]

    # Test posts are facts: they go with the product's facts retention (30 days here).
    purge_facts(engine, now=clock.now() + dt.timedelta(days=29))
    assert _count(engine, test_posts) == 1
    assert purge_facts(engine, now=clock.now() + dt.timedelta(days=31)).test_posts == 1
    assert _count(engine, test_posts) == 0
