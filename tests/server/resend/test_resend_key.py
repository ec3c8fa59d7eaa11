"""A customer who lost their key email gets the same key again, whenever staff resend it.

Against the real database (SQLite file, PostgreSQL), the app's own outbox
worker and a real SMTP server (aiosmtpd).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from cryptography.fernet import Fernet

from licentia.core.licensekeys import masked
from licentia.server.notify.sealing import open_value, seal_value
from licentia.server.store.models import AuditEntry, Customer, table_of
from licentia.server.store.tables import licenses, outbox
from tests.server.admin_accounts.test_roles import add
from tests.server.admin_fixtures import csrf_of, sign_in
from tests.server.portal.conftest import wait_for_mail
from tests.server.resend.conftest import KEY, count, issue, resend_form, text_of, until

audit_entries = table_of(AuditEntry)
customers = table_of(Customer)
BUYER = "dana@buyer.example"


def customer_page(engine: Any, license_id: int) -> str:
    with engine.connect() as conn:
        owner = conn.execute(sa.select(licenses.c.customer_id).where(licenses.c.id == license_id)).scalar_one()
    return f"/admin/customers/{owner}"


def database_bytes(settings: Any) -> bytes:
    path = Path(sa.make_url(settings.resolved_database_url).database or "")
    return b"".join(p.read_bytes() for p in (path, Path(f"{path}-wal")) if p.exists())


def resend_rows(engine: Any, license_id: int) -> list[Any]:
    with engine.connect() as conn:
        return conn.execute(
            sa.select(outbox).where(outbox.c.dedupe_key.startswith(f"license-key:{license_id}:resend:"))
        ).all()


def test_the_customer_gets_the_same_key_again_long_after_the_first_email_was_sent(
    client: Any, engine: Any, clock: Any, settings: Any, smtp: Any, csrf: str
) -> None:
    license_id, key = issue(client, engine, clock, BUYER, "Dana Buyer")
    first = wait_for_mail(smtp, BUYER)
    assert key in text_of(first)
    with engine.connect() as conn:
        sealed = conn.execute(sa.select(licenses.c.key_sealed).where(licenses.c.id == license_id)).scalar_one()
    # The license row keeps the key only sealed with the server's key; the hash stays the lookup.
    assert key not in sealed and open_value(sealed, settings.fernet(), what="key") == key

    clock.advance(days=400)  # a year later the customer has a new computer and no email
    smtp.stop()  # and SMTP is down for a while: the resent email waits, sealed
    sign_in(client)  # staff's session of a year ago has ended
    page_url = customer_page(engine, license_id)
    page = client.get(page_url).text
    assert key not in page and sealed not in page and "Resend key" in page
    action, form = resend_form(page, license_id)
    answer = client.post(action, data=form)
    assert f"A new key email to {BUYER} is queued." in answer.text
    # The same form sent again (a double click, a re-sent POST) sends nothing more.
    assert "was queued already: nothing more is sent" in client.post(action, data=form).text
    [waiting] = resend_rows(engine, license_id)
    assert waiting.sent_at is None and key not in str(waiting.payload) and waiting.payload["sealed"]
    assert masked(key) in waiting.payload["text"]
    if settings.resolved_database_url.startswith("sqlite"):
        # The key is nowhere in the database file in clear: not in the license, not in the queued email.
        assert key.encode() not in database_bytes(settings)

    smtp.start()
    clock.advance(hours=1)  # the failed attempt's retry is due
    again = wait_for_mail(smtp, BUYER, count=2)
    assert again["Subject"] == first["Subject"] == "Your license key for Acme Editor"
    assert again["Reply-To"] == "help@vendor.example"
    assert KEY.findall(text_of(again)) == [key] and key in again.get_body(preferencelist=("html",)).get_content()
    assert text_of(again).split(key)[0] == text_of(first).split(key)[0]  # the same greeting and words
    certificates = [[p.get_filename() for p in m.iter_attachments()] for m in (first, again)]
    assert certificates[0] == certificates[1] and certificates[0][0].startswith("purchase-certificate-acme-")
    # Once sent, the row forgets the sealed copy (the worker marks it just after SMTP accepted it).
    assert until(lambda: resend_rows(engine, license_id)[0].sent_at is not None)
    [sent] = resend_rows(engine, license_id)
    assert "sealed" not in sent.payload and key not in str(sent.payload)

    with engine.connect() as conn:
        [entry] = conn.execute(sa.select(audit_entries).where(audit_entries.c.action == "license.resend_key")).all()
    assert entry.actor == "admin:ann@vendor.example" and entry.target_id == str(license_id)
    assert entry.details["to"] == BUYER and entry.details["sent"] == "new email" and key not in str(entry.details)
    assert "Sent the key of" in client.get("/admin/audit").text


def test_the_key_goes_to_the_customers_current_address_and_from_the_license_page(
    client: Any, engine: Any, clock: Any, smtp: Any, csrf: str
) -> None:
    license_id, key = issue(client, engine, clock, BUYER)
    wait_for_mail(smtp, BUYER)
    with engine.begin() as conn:
        conn.execute(customers.update().where(customers.c.email == BUYER).values(email="dana@new.example"))
    page = client.get(f"/admin/licenses/{license_id}").text
    assert key not in page and "dana@new.example again" in page
    with engine.connect() as conn:
        sealed = conn.execute(sa.select(licenses.c.key_sealed).where(licenses.c.id == license_id)).scalar_one()
    # Neither the key nor its sealed copy leaves the server by a page, an export or a report.
    for shown in (
        page,
        client.get("/admin/licenses.csv").text,
        client.get(f"/admin/licenses/{license_id}/evidence", params={"format": "json"}).text,
    ):
        assert key not in shown and sealed not in shown and sealed[len("sealed:v1:") :] not in shown
    action, form = resend_form(page, license_id)
    assert action == f"/admin/licenses/{license_id}/resend-key"
    assert "A new key email to dana@new.example is queued." in client.post(action, data=form).text
    assert KEY.findall(text_of(wait_for_mail(smtp, "dana@new.example"))) == [key]
    assert len([m for m in smtp.messages if BUYER in str(m["To"])]) == 1


def failed_once(engine: Any) -> bool:
    return count(engine, "SELECT count(*) FROM outbox WHERE attempts > 0") > 0


def test_a_waiting_key_email_is_sent_now_rather_than_queued_twice(
    client: Any, engine: Any, clock: Any, smtp: Any, csrf: str
) -> None:
    smtp.stop()
    license_id, key = issue(client, engine, clock, BUYER)
    assert until(lambda: failed_once(engine))  # the first attempt failed: the retry waits an hour
    smtp.start()  # the vendor fixed SMTP
    page = client.get(f"/admin/licenses/{license_id}").text
    assert "still waits and goes out now" in page
    action, form = resend_form(page, license_id)
    assert f"The key email waiting for {BUYER} goes out now." in client.post(action, data=form).text
    assert KEY.findall(text_of(wait_for_mail(smtp, BUYER))) == [key]
    assert resend_rows(engine, license_id) == []


def test_a_revoked_license_key_is_not_sent(client: Any, engine: Any, clock: Any, smtp: Any, csrf: str) -> None:
    license_id, _ = issue(client, engine, clock, BUYER)
    wait_for_mail(smtp, BUYER)
    page = client.get(f"/admin/licenses/{license_id}").text
    action, form = resend_form(page, license_id)
    client.post(f"/admin/licenses/{license_id}/revoke", data={"csrf": csrf, "reason": "chargeback"})
    refused = client.post(action, data=form)
    assert refused.status_code == 409 and "is revoked: its key never activates again, so it is not sent" in refused.text
    customer = client.get(customer_page(engine, license_id)).text
    assert "revoked: its key is not sent" in customer
    assert f"licenses/{license_id}/resend-key" not in customer
    assert resend_rows(engine, license_id) == []
    assert count(engine, "SELECT count(*) FROM audit_entries WHERE action = 'license.resend_key'") == 0


def test_a_license_issued_before_keys_were_kept_says_so_once_its_email_was_sent(
    client: Any, engine: Any, clock: Any, smtp: Any, csrf: str
) -> None:
    smtp.stop()
    license_id, key = issue(client, engine, clock, BUYER)
    with engine.begin() as conn:  # as every license issued before migration 0012
        conn.execute(licenses.update().where(licenses.c.id == license_id).values(key_sealed=None))
    assert until(lambda: failed_once(engine))
    smtp.start()
    page = client.get(customer_page(engine, license_id)).text
    action, form = resend_form(page, license_id)
    # While its first email waits, it still carries the key: that email goes out now (as before 0012).
    assert f"The key email waiting for {BUYER} goes out now." in client.post(action, data=form).text
    assert KEY.findall(text_of(wait_for_mail(smtp, BUYER))) == [key]
    assert until(lambda: count(engine, "SELECT count(*) FROM outbox WHERE sent_at IS NULL") == 0)
    clock.advance(minutes=1)
    page = client.get(customer_page(engine, license_id)).text
    assert "issued before keys were kept: reissue" in page and f"licenses/{license_id}/resend-key" not in page
    form["resend_id"] = "0" * 32
    said = client.post(action, data=form).text
    assert "was issued before license keys were kept, and its key email was sent" in said
    assert "Issue another license" in said
    license_page = client.get(f"/admin/licenses/{license_id}").text
    assert "Issued before license keys were kept" in license_page
    assert len(smtp.messages) == 1


def test_a_key_sealed_with_another_secret_key_says_which_key_to_put_back(
    client: Any, engine: Any, clock: Any, smtp: Any, csrf: str
) -> None:
    license_id, key = issue(client, engine, clock, BUYER)
    wait_for_mail(smtp, BUYER)
    with engine.begin() as conn:
        other = seal_value(key, Fernet(Fernet.generate_key()))
        conn.execute(licenses.update().where(licenses.c.id == license_id).values(key_sealed=other))
    action, form = resend_form(client.get(f"/admin/licenses/{license_id}").text, license_id)
    said = client.post(action, data=form)
    assert said.status_code == 409 and "another LICENTIA_SECRET_KEY than this server" in said.text
    assert resend_rows(engine, license_id) == []


def test_a_viewer_cannot_resend_and_a_stale_or_foreign_form_is_refused(
    client: Any, engine: Any, clock: Any, smtp: Any, csrf: str
) -> None:
    license_id, _ = issue(client, engine, clock, BUYER)
    other_id, _ = issue(client, engine, clock, "eve@buyer.example")
    wait_for_mail(smtp, "eve@buyer.example")
    page_url = customer_page(engine, license_id)
    action, form = resend_form(client.get(page_url).text, license_id)
    # Another customer's license is not this customer's to resend.
    foreign = client.post(action.replace(f"/licenses/{license_id}/", f"/licenses/{other_id}/"), data=form)
    assert "has no license" in foreign.text
    # A form without its send id (a page from before this release) is refused, not sent.
    assert "reload the page" in client.post(action, data={"csrf": form["csrf"]}).text
    assert client.post(action, data={"resend_id": form["resend_id"]}).status_code == 403  # no CSRF token
    assert client.post("/admin/licenses/999999/resend-key", data=form).status_code == 404

    client.post("/admin/signout", data={"csrf": csrf})
    add(engine, clock, "vera@vendor.example", "viewer")
    sign_in(client, "vera@vendor.example")
    viewer_form = {**form, "csrf": csrf_of(client)}
    for path in (action, f"/admin/licenses/{license_id}/resend-key"):
        refused = client.post(path, data=viewer_form)
        assert refused.status_code == 403 and "Your role (viewer) cannot make this change" in refused.text
    assert resend_rows(engine, license_id) == [] and resend_rows(engine, other_id) == []
    assert count(engine, "SELECT count(*) FROM audit_entries WHERE action = 'license.resend_key'") == 0


def test_a_suspended_or_expired_license_key_is_still_sent(
    client: Any, engine: Any, clock: Any, smtp: Any, csrf: str
) -> None:
    """Still the customer's key: reinstating or renewing the license brings it back to use."""
    license_id, key = issue(client, engine, clock, BUYER)
    wait_for_mail(smtp, BUYER)
    for n, state in enumerate(("suspended", "expired"), start=2):
        with engine.begin() as conn:
            conn.execute(licenses.update().where(licenses.c.id == license_id).values(state=state))
        action, form = resend_form(client.get(f"/admin/licenses/{license_id}").text, license_id)
        assert f"A new key email to {BUYER} is queued." in client.post(action, data=form).text
        assert KEY.findall(text_of(wait_for_mail(smtp, BUYER, count=n))) == [key]
