"""The admin UI's lists, customer page, audit sentences, work queues and first run, against the real database."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from typing import Any

import sqlalchemy as sa

from licentia.server.admin.dashboard.charts import nice_max, nice_step, number
from licentia.server.admin.lists.listing import capped_count
from licentia.server.licenses.service import issue_license
from licentia.server.store.models import License, Machine, OutboxMessage, table_of
from tests.server.admin_fixtures import csrf_of, make_admin, sign_in
from tests.server.helpers import Installation


def _signed_in(client: Any, engine: Any, clock: Any) -> str:
    make_admin(engine, clock)
    sign_in(client)
    return csrf_of(client)


def _issue(engine: Any, clock: Any, count: int, **options: Any) -> None:
    with engine.begin() as conn:
        for n in range(count):
            issue_license(conn, product="acme", email=f"buyer{n}@example.com", now=clock.now(), **options)
            clock.advance(minutes=1)


def _csv(response: Any) -> list[dict[str, str]]:
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(response.text)))


def test_first_run_is_a_checklist_until_the_first_check_in(client: Any, engine: Any, clock: Any, product: Any) -> None:
    _signed_in(client, engine, clock)
    page = client.get("/admin").text
    assert 'id="first-run"' in page and "Waiting for the first check-in" in page
    assert product.public_key in page
    # The five lines in every client's language, this product's slug and key filled in.
    for language, line in {
        "python": 'lic = Licentia("http://testserver", "acme",', "typescript": 'product: "acme"',
        "c": "licentia_open(&amp;lic, &#34;http://testserver&#34;", "go": 'Product: "acme"', "java": '.product("acme")',
    }.items():  # fmt: skip
        assert f'id="snippet-{language}"' in page
        assert line.replace('"', "&#34;") in page or line in page, language
    assert 'class="chart"' not in page  # not nine empty charts
    Installation(client, product.public_key).check()
    page = client.get("/admin").text
    assert 'id="first-run"' not in page and 'id="tile-new"' in page and 'id="queue-ending"' in page


def test_license_list_counts_pages_sorts_and_exports_with_its_filter(
    client: Any, engine: Any, clock: Any, product: Any
) -> None:
    _signed_in(client, engine, clock)
    _issue(engine, clock, 55)
    _issue(engine, clock, 3, expires_at=clock.now() + dt.timedelta(days=10))
    first = client.get("/admin/licenses").text
    assert "Licenses: 1-50 of 58" in first and 'rel="next"' in first and 'rel="prev"' not in first
    second = client.get("/admin/licenses", params={"page": "2"}).text
    assert "Licenses: 51-58 of 58" in second and 'rel="next"' not in second
    # Newest first by default; "asc" flips it; an unknown column or page falls back instead of failing.
    newest = re.findall(r"buyer(\d+)@", first)
    oldest = re.findall(r"buyer(\d+)@", client.get("/admin/licenses", params={"sort": "issued", "dir": "asc"}).text)
    assert newest[0] != oldest[0] and oldest[0] == "0"
    odd = client.get("/admin/licenses", params={"sort": "x; drop table licenses", "page": "-3", "dir": "sideways"})
    assert odd.status_code == 200 and "Licenses: 1-50 of 58" in odd.text

    expiring = client.get("/admin/licenses", params={"expires": "30"}).text
    assert "Licenses: 1-3 of 3" in expiring and 'href="/admin/licenses.csv?expires=30"' in expiring
    rows = _csv(client.get("/admin/licenses.csv", params={"expires": "30"}))
    assert len(rows) == 3 and all(r["expires_at"] for r in rows)
    assert len(_csv(client.get("/admin/licenses.csv"))) == 58


def test_the_count_stops_at_its_cap_and_says_so(engine: Any, clock: Any, product: Any) -> None:
    _issue(engine, clock, 5)
    query = sa.select(table_of(License))
    with engine.connect() as conn:
        assert capped_count(conn, query, cap=10) == (5, True)
        assert capped_count(conn, query, cap=3) == (3, False)


def test_export_cells_a_spreadsheet_would_run_are_defused(client: Any, engine: Any, clock: Any, product: Any) -> None:
    _signed_in(client, engine, clock)
    with engine.begin() as conn:
        issue_license(conn, product="acme", email="x@example.com", name='=HYPERLINK("http://evil")', now=clock.now())
    rows = _csv(client.get("/admin/customers.csv"))
    assert rows[0]["name"] == '\'=HYPERLINK("http://evil")'


def test_customer_page_shows_what_they_own_and_resends_their_key(
    client: Any, engine: Any, clock: Any, product: Any
) -> None:
    csrf = _signed_in(client, engine, clock)
    for who in ("bob", "eve"):
        form = {"csrf": csrf, "product": "acme", "email": f"{who}@example.com", "name": who.title(), "send_email": "on"}
        client.post("/admin/licenses", data=form)
    page = client.get("/admin/customers", params={"q": "bob"}).text
    customer_id = int(re.search(r'href="/admin/customers/(\d+)"', page).group(1))  # type: ignore[union-attr]
    with engine.connect() as conn:
        bobs = conn.execute(sa.text("select id, key_prefix from licenses where customer_id = :c"), {"c": customer_id})
        license_id, prefix = bobs.one()
        eves = conn.execute(sa.text("select id from licenses where customer_id != :c"), {"c": customer_id}).scalar()
    detail = client.get(f"/admin/customers/{customer_id}").text
    assert "Bob" in detail and prefix in detail and "Your license key for Acme Editor" in detail and "queued" in detail
    assert 'href="/admin/licenses?email=bob%40example.com&amp;name=Bob#issue"' in detail
    prefilled = client.get("/admin/licenses", params={"email": "bob@example.com", "name": "Bob"}).text
    assert 'value="bob@example.com"' in prefilled and '<details class="card" open' in prefilled

    resend = f"/admin/customers/{customer_id}/licenses/{license_id}/resend-key"
    resend_id = re.search(r'name="resend_id" value="([0-9a-f]{32})"', detail).group(1)  # type: ignore[union-attr]
    # The first email still waits (SMTP is unset here): it goes out as soon as SMTP is set up.
    said = client.post(resend, data={"csrf": csrf, "resend_id": resend_id}).text
    assert "The key email waiting for bob@example.com goes out now. It waits in the outbox until SMTP" in said
    # Another customer's license is not this customer's to resend.
    other = client.post(
        f"/admin/customers/{customer_id}/licenses/{eves}/resend-key", data={"csrf": csrf, "resend_id": resend_id}
    )
    assert "has no license" in other.text
    # Once sent, the key is still kept sealed with the server's key: a new email with it is queued.
    outbox = table_of(OutboxMessage)
    with engine.begin() as conn:
        conn.execute(outbox.update().values(sent_at=clock.now(), payload={"to": ["bob@example.com"]}))
    again = {"csrf": csrf, "resend_id": "f" * 32}
    assert "A new key email to bob@example.com is queued." in client.post(resend, data=again).text
    assert client.post(resend, data={"resend_id": "e" * 32}).status_code == 403
    assert client.get("/admin/customers/999999").status_code == 404


def test_audit_entries_read_as_sentences_and_filter(client: Any, engine: Any, clock: Any, product: Any) -> None:
    csrf = _signed_in(client, engine, clock)
    client.post("/admin/licenses", data={"csrf": csrf, "product": "acme", "email": "bob@example.com", "name": "Bob"})
    with engine.connect() as conn:
        license_id, prefix = conn.execute(sa.text("select id, key_prefix from licenses")).one()
    client.post(f"/admin/licenses/{license_id}/revoke", data={"csrf": csrf, "reason": "chargeback"})
    page = client.get("/admin/audit").text
    assert f'Revoked <a href="/admin/licenses/{license_id}">license <code>{prefix}…</code></a> of Bob' in page
    assert (
        f'Issued <a href="/admin/licenses/{license_id}">license <code>{prefix}…</code></a> to bob@example.com' in page
    )
    only = client.get("/admin/audit", params={"action": "license.revoke"}).text
    assert "Revoked" in only and "Issued <a" not in only
    tomorrow = (clock.now() + dt.timedelta(days=1)).date().isoformat()
    assert "Nothing matches" in client.get("/admin/audit", params={"from": tomorrow}).text
    assert "Revoked" in client.get("/admin/audit", params={"to": tomorrow, "actor": "admin:ann@vendor.example"}).text
    rows = _csv(client.get("/admin/audit.csv", params={"action": "license.revoke"}))
    assert [r["sentence"] for r in rows] == [f"Revoked license {prefix}… of Bob: “chargeback”"]


def test_work_queues_and_one_click_extend(client: Any, engine: Any, clock: Any, product: Any) -> None:
    make_admin(engine, clock)
    app = Installation(client, product.public_key)
    app.check()
    clock.advance(days=25)  # the default trial is 30 days: it ends within the week
    sign_in(client)
    csrf = csrf_of(client)
    page = client.get("/admin").text
    ending = page[page.index('id="queue-ending"') : page.index('id="queue-leads"')]
    assert app.device_id[:10] in ending and "Extend 14 days" in ending
    machines = table_of(Machine)
    with engine.connect() as conn:
        before = conn.execute(sa.select(machines.c.trial_end)).scalar_one()
    assert client.post("/admin/queues/extend-trial", data={"device": app.device_id}).status_code == 403
    done = client.post("/admin/queues/extend-trial", data={"csrf": csrf, "device": app.device_id})
    assert "Trial extended by 14 days." in done.text
    with engine.connect() as conn:
        assert conn.execute(sa.select(machines.c.trial_end)).scalar_one() == before + dt.timedelta(days=14)

    clock.advance(days=20)  # the trial has ended; the application still runs: a sales lead
    app.check()
    sign_in(client)
    page = client.get("/admin").text
    leads = page[page.index('id="queue-leads"') : page.index('id="queue-copies"')]
    assert app.device_id[:10] in leads and "/admin/devices.csv?product=" in leads
    rows = _csv(client.get("/admin/devices.csv", params={"status": "trial_expired", "seen": "7"}))
    assert [r["device_id"] for r in rows] == [app.device_id]


def test_chart_ticks_are_round_and_numbers_have_separators() -> None:
    for value in (3, 7, 19, 57, 133, 999, 2_350, 48_000, 1_234_567):
        step, top = nice_step(value), nice_max(value)
        assert top >= value and top / step <= 5
        assert re.fullmatch(r"(1|2|5)0*", f"{step:.0f}"), step
    assert number(1234) == "1,234" and number(48_000) == "48k" and number(2_500_000) == "2.5M"


def test_licenses_at_their_seat_limit_are_listed_and_queued(client: Any, engine: Any, clock: Any, product: Any) -> None:
    _signed_in(client, engine, clock)
    with engine.begin() as conn:
        full = issue_license(conn, product="acme", email="full@example.com", max_devices=1, now=clock.now())
        issue_license(conn, product="acme", email="room@example.com", max_devices=2, now=clock.now())
    app = Installation(client, product.public_key)
    app.check()
    assert app.check("/v1/activate", key=full.key)["status"] == "registered"
    listed = client.get("/admin/licenses", params={"full": "1"}).text
    assert "Licenses: 1-1 of 1" in listed and "full@example.com" in listed and "room@example.com" not in listed
    page = client.get("/admin").text
    queue = page[page.index('id="queue-full"') : page.index('id="queue-expiring"')]
    assert full.key_prefix in queue and "1/1" in queue
