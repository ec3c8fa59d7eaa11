"""Stripe webhooks end to end: signed as Stripe signs, idempotent by event id, replays and forgeries refused."""

from __future__ import annotations

import re

import pytest

from tests.server.helpers import Installation
from tests.server.payments.conftest import body_of, day, license_row, mapping, state, stripe_header
from tests.server.portal.conftest import mail_about, wait_for_mail

BUYER = "carol@buyer.example"


def send(client, clock, payload, *, t=None, header=None):
    body = body_of(payload)
    stamp = int(clock.now().timestamp()) if t is None else t
    return client.post(
        "/v1/hooks/stripe",
        content=body,
        headers={"Stripe-Signature": header or stripe_header(body, stamp), "Content-Type": "application/json"},
    )


def checkout(event_id="evt_checkout_1", **session):
    obj = {
        "id": "cs_test_1",
        "object": "checkout.session",
        "mode": "payment",
        "payment_status": "paid",
        "payment_intent": "pi_1",
        "customer_details": {"email": BUYER, "name": "Carol Buyer"},
        "metadata": {"licentia_item": "price_pro"},
        **session,
    }
    return {"id": event_id, "object": "event", "type": "checkout.session.completed", "data": {"object": obj}}


def invoice(event_id, *, reason, period_end, invoice_id, payment_intent):
    return {
        "id": event_id,
        "object": "event",
        "type": "invoice.paid",
        "data": {
            "object": {
                "id": invoice_id,
                "object": "invoice",
                "billing_reason": reason,
                "customer_email": BUYER,
                "customer_name": "Carol Buyer",
                "payment_intent": payment_intent,
                "parent": {"subscription_details": {"subscription": "sub_1"}},
                "lines": {
                    "data": [
                        {
                            "period": {"start": period_end - 30 * 86400, "end": period_end},
                            "pricing": {"price_details": {"price": "price_monthly", "product": "prod_acme"}},
                        }
                    ]
                },
            }
        },
    }


def test_paid_checkout_issues_a_license_and_emails_a_key_that_activates(client, engine, clock, smtp, product):
    mapping(engine, clock, "stripe", "price_pro", max_devices=2, features=["pro"])
    answer = send(client, clock, checkout())
    assert answer.status_code == 200 and answer.json()["outcome"] == "license issued"
    mail = wait_for_mail(smtp, BUYER)
    assert mail["Subject"] == "Your license key for Acme Editor"
    assert mail["Reply-To"] == "help@vendor.example"
    key = re.search(r"[0-9A-Z]{5}(?:-[0-9A-Z]{5}){4}", mail.get_body(preferencelist=("plain",)).get_content()).group(0)
    assert mail.get_body(preferencelist=("html",)) is not None
    app = Installation(client, product.public_key)
    app.check()
    doc = app.check("/v1/activate", key=key)
    assert doc["status"] == "registered" and doc["features"] == ["pro"]


def test_a_redelivered_event_changes_nothing(client, engine, clock, smtp):
    mapping(engine, clock, "stripe", "price_pro")
    assert send(client, clock, checkout()).json()["duplicate"] is False
    wait_for_mail(smtp, BUYER)
    before = state(engine)
    clock.advance(seconds=60)
    again = send(client, clock, checkout())
    assert again.status_code == 200 and again.json()["duplicate"] is True
    assert state(engine) == before


@pytest.mark.parametrize(
    ("header", "code"),
    [
        ("t={t},v1=" + "0" * 64, "invalid_signature"),
        ("garbage", "invalid_signature"),
        ("", "invalid_signature"),
    ],
)
def test_badly_signed_events_are_refused_and_change_nothing(client, engine, clock, header, code):
    mapping(engine, clock, "stripe", "price_pro")
    before = state(engine)
    answer = send(client, clock, checkout(), header=header.format(t=int(clock.now().timestamp())) or " ")
    assert answer.status_code == 401 and answer.json()["error"]["code"] == code
    # Signed with another endpoint's secret, or a body changed after signing.
    body = body_of(checkout())
    forged = stripe_header(body, int(clock.now().timestamp()), secret="whsec_someone_else")
    assert client.post("/v1/hooks/stripe", content=body, headers={"Stripe-Signature": forged}).status_code == 401
    tampered = body.replace(b"carol@", b"mallory@")
    good_for_original = stripe_header(body, int(clock.now().timestamp()))
    assert (
        client.post("/v1/hooks/stripe", content=tampered, headers={"Stripe-Signature": good_for_original}).status_code
        == 401
    )
    assert state(engine) == before


def test_a_replayed_delivery_outside_the_tolerance_is_refused(client, engine, clock):
    mapping(engine, clock, "stripe", "price_pro")
    before = state(engine)
    old = int(clock.now().timestamp()) - 301
    answer = send(client, clock, checkout(), t=old)
    assert answer.status_code == 401 and answer.json()["error"]["code"] == "stale_signature"
    assert state(engine) == before


def test_subscription_lifecycle_renews_cancels_at_period_end_and_refund_suspends(client, engine, clock, smtp):
    mapping(engine, clock, "stripe", "price_monthly", on_refund="suspend")
    now = int(clock.now().timestamp())
    first_end = now + 30 * 86400
    # The first invoice may arrive before the checkout: either way one license.
    assert (
        send(
            client,
            clock,
            invoice(
                "evt_inv_1",
                reason="subscription_create",
                period_end=first_end,
                invoice_id="in_1",
                payment_intent="pi_sub_1",
            ),
        ).json()["outcome"]
        == "license issued"
    )
    done = send(
        client,
        clock,
        checkout("evt_cs_sub", mode="subscription", subscription="sub_1", payment_intent=None, metadata={}),
    )
    assert done.json()["outcome"] == "already licensed"
    lic = license_row(engine)
    license_id = lic.id
    assert lic.state == "active" and lic.expires_at.date() == day(first_end)
    wait_for_mail(smtp, BUYER)

    second_end = first_end + 30 * 86400
    renewed = send(
        client,
        clock,
        invoice(
            "evt_inv_2",
            reason="subscription_cycle",
            period_end=second_end,
            invoice_id="in_2",
            payment_intent="pi_sub_2",
        ),
    )
    assert renewed.json()["outcome"] == "renewed"
    assert license_row(engine, license_id).expires_at.date() == day(second_end)
    mail_about(smtp, BUYER, "renewed", 2)

    deleted = {
        "id": "evt_sub_del",
        "type": "customer.subscription.deleted",
        "data": {
            "object": {
                "id": "sub_1",
                "object": "subscription",
                "status": "canceled",
                "items": {"data": [{"current_period_end": second_end}]},
            }
        },
    }
    assert send(client, clock, deleted).json()["outcome"] == "already ends by then"

    refund = {
        "id": "evt_refund",
        "type": "charge.refunded",
        "data": {
            "object": {
                "id": "ch_2",
                "object": "charge",
                "payment_intent": "pi_sub_2",
                "refunded": True,
                "amount": 900,
                "amount_refunded": 900,
            }
        },
    }
    assert send(client, clock, refund).json()["outcome"] == "suspended"
    assert license_row(engine, license_id).state == "suspended"


def test_a_cancellation_ends_a_perpetual_subscription_license_at_period_end_and_says_so(client, engine, clock, smtp):
    mapping(engine, clock, "stripe", "price_pro")
    send(client, clock, checkout(mode="subscription", subscription="sub_9"))
    ends = int(clock.now().timestamp()) + 10 * 86400
    deleted = {
        "id": "evt_del_9",
        "type": "customer.subscription.deleted",
        "data": {"object": {"id": "sub_9", "current_period_end": ends}},
    }
    assert send(client, clock, deleted).json()["outcome"] == "ends at period end"
    assert license_row(engine).expires_at.date() == day(ends)
    mail_about(smtp, BUYER, "cancelled", 2)


def test_a_full_refund_revokes_by_default_and_a_partial_one_changes_nothing(client, engine, clock):
    mapping(engine, clock, "stripe", "price_pro")
    send(client, clock, checkout())
    partial = {
        "id": "evt_r1",
        "type": "charge.refunded",
        "data": {
            "object": {"id": "ch_1", "payment_intent": "pi_1", "refunded": False, "amount": 100, "amount_refunded": 40}
        },
    }
    assert send(client, clock, partial).json()["outcome"] == "partial refund: license unchanged"
    full = {
        "id": "evt_r2",
        "type": "charge.refunded",
        "data": {
            "object": {"id": "ch_1", "payment_intent": "pi_1", "refunded": True, "amount": 100, "amount_refunded": 100}
        },
    }
    assert send(client, clock, full).json()["outcome"] == "revoked"
    assert license_row(engine).state == "revoked"


def test_unmapped_orders_and_other_events_are_acknowledged_without_a_license(client, engine, clock):
    assert send(client, clock, checkout()).json()["outcome"].startswith("unmapped")
    other = {"id": "evt_x", "type": "customer.created", "data": {"object": {"id": "cus_1"}}}
    assert send(client, clock, other).json()["outcome"].startswith("ignored")
    assert state(engine)["licenses"] == []


def test_an_unconfigured_provider_refuses_every_delivery(client, engine, clock, settings):
    settings.stripe_webhook_secret = None
    answer = send(client, clock, checkout())
    assert answer.status_code == 503 and answer.json()["error"]["code"] == "webhook_not_configured"
