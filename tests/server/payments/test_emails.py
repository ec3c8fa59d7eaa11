"""Customer emails: trial-ending reminders (optional per product), the vendor's reply-to, text and HTML."""

from __future__ import annotations

from tests.server.payments.conftest import body_of, license_row, mapping, stripe_header
from tests.server.portal.conftest import mail_about

BUYER = "frank@buyer.example"


def trial_invoice(clock, days: int) -> dict:
    end = int(clock.now().timestamp()) + days * 86400
    return {
        "id": "evt_trial_inv",
        "type": "invoice.paid",
        "data": {
            "object": {
                "id": "in_trial",
                "billing_reason": "subscription_create",
                "amount_paid": 0,
                "customer_email": BUYER,
                "customer_name": "Frank <script>",
                "subscription": "sub_trial",
                "lines": {"data": [{"period": {"end": end}, "price": {"id": "price_trial", "product": "prod_x"}}]},
            }
        },
    }


def remind(engine, clock) -> int:
    from licentia.server.payments.reminders import send_trial_reminders

    with engine.begin() as conn:
        return send_trial_reminders(conn, now=clock.now(), reply_default="help@vendor.example")


def test_trial_reminder_is_sent_once_n_days_before_the_end_with_the_products_reply_to(client, engine, clock, smtp):
    from licentia.server.payments.mapping import EmailSettingsSpec, set_email_settings

    mapping(engine, clock, "stripe", "price_trial")
    body = body_of(trial_invoice(clock, days=14))
    answer = client.post(
        "/v1/hooks/stripe",
        content=body,
        headers={"Stripe-Signature": stripe_header(body, int(clock.now().timestamp()))},
    )
    assert answer.json()["outcome"] == "license issued"
    assert remind(engine, clock) == 0  # no reminder unless the product asks for one
    with engine.begin() as conn:
        set_email_settings(
            conn,
            EmailSettingsSpec(product="acme", reply_to="sales@acme.example", trial_reminder_days=3),
            actor="test",
            now=clock.now(),
        )
    clock.advance(days=10)
    assert remind(engine, clock) == 0  # four days left
    clock.advance(days=1, hours=1)
    assert remind(engine, clock) == 1
    assert remind(engine, clock) == 0
    mail = mail_about(smtp, BUYER, "trial ends", 2)
    assert mail["Subject"] == "Your Acme Editor trial ends in 3 days"
    assert mail["Reply-To"] == "sales@acme.example"
    html = mail.get_body(preferencelist=("html",)).get_content()
    assert "Frank &lt;script&gt;" in html and "<script>" not in html
    assert license_row(engine).state == "active"


def test_no_reminder_for_a_paid_subscription_or_a_product_without_it(client, engine, clock, smtp):
    from licentia.server.payments.mapping import EmailSettingsSpec, set_email_settings

    mapping(engine, clock, "stripe", "price_trial")
    event = trial_invoice(clock, days=14)
    event["data"]["object"]["amount_paid"] = 900
    body = body_of(event)
    client.post(
        "/v1/hooks/stripe",
        content=body,
        headers={"Stripe-Signature": stripe_header(body, int(clock.now().timestamp()))},
    )
    with engine.begin() as conn:
        set_email_settings(
            conn, EmailSettingsSpec(product="acme", reply_to=None, trial_reminder_days=3), actor="test", now=clock.now()
        )
    clock.advance(days=12)
    assert remind(engine, clock) == 0


def test_a_fastspring_free_trial_gets_its_reminder_before_the_first_charge(client, engine, clock, smtp):
    """FastSpring marks a subscription bought with a free trial ``state: trial``; its ``next`` is the first charge."""
    from licentia.server.payments.mapping import EmailSettingsSpec, set_email_settings
    from tests.server.payments.conftest import fastspring_header

    mapping(engine, clock, "fastspring", "acme-editor-monthly")
    first_charge = int(clock.now().timestamp() + 14 * 86400) * 1000
    subscription = {"id": "sub_fs_t", "subscription": "sub_fs_t", "state": "trial", "next": first_charge}
    event = {
        "id": "fs_trial_1",
        "type": "order.completed",
        "data": {
            "id": "ord_fs_t",
            "order": "ord_fs_t",
            "completed": True,
            "total": 0,
            "customer": {"first": "Gina", "email": "gina@buyer.example"},
            "items": [{"product": "acme-editor-monthly", "quantity": 1, "subscription": subscription}],
        },
    }
    body = body_of({"events": [event]})
    answer = client.post("/v1/hooks/fastspring", content=body, headers={"X-FS-Signature": fastspring_header(body)})
    assert answer.status_code == 200, answer.text
    with engine.begin() as conn:
        set_email_settings(
            conn, EmailSettingsSpec(product="acme", reply_to=None, trial_reminder_days=3), actor="test", now=clock.now()
        )
    clock.advance(days=10)
    assert remind(engine, clock) == 0
    clock.advance(days=1, hours=1)
    assert remind(engine, clock) == 1
    assert mail_about(smtp, "gina@buyer.example", "trial ends", 2)["Subject"] == "Your Acme Editor trial ends in 3 days"
