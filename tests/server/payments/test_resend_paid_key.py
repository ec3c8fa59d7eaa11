"""A key sold through a payment provider is kept sealed, so staff can send the buyer the same key again."""

from __future__ import annotations

import re

import sqlalchemy as sa

from licentia.server.notify.sealing import open_value
from licentia.server.store.tables import licenses
from tests.server.admin_fixtures import make_admin, sign_in
from tests.server.payments.conftest import license_row, mapping
from tests.server.payments.test_stripe import BUYER, checkout, send
from tests.server.portal.conftest import wait_for_mail
from tests.server.resend.conftest import KEY, resend_form, text_of


def test_a_paid_key_is_kept_sealed_and_resent_to_the_buyer_with_the_vendors_reply_to(
    client, engine, clock, smtp, settings, product
):
    mapping(engine, clock, "stripe", "price_pro")
    assert send(client, clock, checkout()).json()["outcome"] == "license issued"
    [key] = KEY.findall(text_of(wait_for_mail(smtp, BUYER)))
    row = license_row(engine)
    assert key not in row.key_sealed and open_value(row.key_sealed, settings.fernet(), what="key") == key

    clock.advance(days=30)
    make_admin(engine, clock)
    sign_in(client)
    page = client.get(f"/admin/customers/{row.customer_id}").text
    action, form = resend_form(page, row.id)
    assert f"A new key email to {BUYER} is queued." in client.post(action, data=form).text
    again = wait_for_mail(smtp, BUYER, count=2)
    assert again["Reply-To"] == "help@vendor.example" and KEY.findall(text_of(again)) == [key]
    assert next(p.get_filename() for p in again.iter_attachments()).startswith("purchase-certificate-acme-")
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(licenses)).scalar() == 1
    assert re.search(r"Sent the key of .* again to " + re.escape(BUYER), client.get("/admin/audit").text)
