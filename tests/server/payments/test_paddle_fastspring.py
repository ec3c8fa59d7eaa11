"""Paddle Billing and FastSpring webhooks end to end, signed as each provider documents."""

from __future__ import annotations

import datetime as dt

from tests.server.payments.conftest import (
    body_of,
    fastspring_header,
    license_row,
    mapping,
    paddle_header,
    state,
)
from tests.server.portal.conftest import mail_about, wait_for_mail

BUYER = "dave@buyer.example"


def paddle(client, clock, payload, *, ts=None, header=None):
    body = body_of(payload)
    stamp = int(clock.now().timestamp()) if ts is None else ts
    return client.post(
        "/v1/hooks/paddle", content=body, headers={"Paddle-Signature": header or paddle_header(body, stamp)}
    )


def iso(when: dt.datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%S.000000Z")


def transaction(event_id, txn, *, origin, ends):
    return {
        "event_id": event_id,
        "event_type": "transaction.completed",
        "occurred_at": "2026-01-05T09:00:00.000000Z",
        "notification_id": "ntf_" + event_id,
        "data": {
            "id": txn,
            "status": "completed",
            "origin": origin,
            "customer_id": "ctm_1",
            "subscription_id": "sub_01paddle",
            "custom_data": {"email": BUYER},
            "items": [{"price": {"id": "pri_monthly", "product_id": "pro_acme"}, "quantity": 1}],
            "billing_period": {"starts_at": iso(ends - dt.timedelta(days=30)), "ends_at": iso(ends)},
        },
    }


def test_paddle_order_renewal_cancellation_and_refund(client, engine, clock, smtp):
    mapping(engine, clock, "paddle", "pri_monthly")
    first_end = clock.now() + dt.timedelta(days=30)
    made = paddle(client, clock, transaction("evt_01", "txn_01", origin="web", ends=first_end))
    assert made.status_code == 200 and made.json()["outcome"] == "license issued"
    assert "license key" in wait_for_mail(smtp, BUYER)["Subject"]
    assert license_row(engine).expires_at.date() == first_end.date()

    second_end = first_end + dt.timedelta(days=30)
    renewed = paddle(client, clock, transaction("evt_02", "txn_02", origin="subscription_recurring", ends=second_end))
    assert renewed.json()["outcome"] == "renewed"
    mail_about(smtp, BUYER, "renewed", 2)

    pending = {
        "event_id": "evt_03",
        "event_type": "adjustment.created",
        "data": {
            "id": "adj_1",
            "action": "refund",
            "type": "full",
            "status": "pending_approval",
            "transaction_id": "txn_02",
            "subscription_id": "sub_01paddle",
        },
    }
    assert paddle(client, clock, pending).json()["outcome"].startswith("ignored")
    approved = {
        **pending,
        "event_id": "evt_04",
        "event_type": "adjustment.updated",
        "data": {**pending["data"], "status": "approved"},
    }
    assert paddle(client, clock, approved).json()["outcome"] == "revoked"
    assert license_row(engine).state == "revoked"


def test_paddle_cancellation_ends_at_the_billing_period_end(client, engine, clock, smtp):
    mapping(engine, clock, "paddle", "pri_monthly")
    ends = clock.now() + dt.timedelta(days=30)
    paddle(client, clock, transaction("evt_10", "txn_10", origin="web", ends=ends + dt.timedelta(days=335)))
    canceled = {
        "event_id": "evt_11",
        "event_type": "subscription.canceled",
        "data": {
            "id": "sub_01paddle",
            "status": "canceled",
            "canceled_at": iso(clock.now()),
            "current_billing_period": {"ends_at": iso(ends)},
        },
    }
    assert paddle(client, clock, canceled).json()["outcome"] == "ends at period end"
    assert license_row(engine).expires_at.date() == ends.date()
    mail_about(smtp, BUYER, "cancelled", 2)


def test_paddle_refuses_forged_stale_and_replayed_events(client, engine, clock):
    mapping(engine, clock, "paddle", "pri_monthly")
    event = transaction("evt_20", "txn_20", origin="web", ends=clock.now() + dt.timedelta(days=30))
    before = state(engine)
    body = body_of(event)
    now = int(clock.now().timestamp())
    for header in (paddle_header(body, now, secret="someone-else"), f"ts={now};h1={'0' * 64}", "ts=1;x=2", "h1"):
        answer = client.post("/v1/hooks/paddle", content=body, headers={"Paddle-Signature": header})
        assert answer.status_code == 401, header
    stale = paddle(client, clock, event, ts=now - 6)
    assert stale.status_code == 401 and stale.json()["error"]["code"] == "stale_signature"
    assert state(engine) == before
    assert paddle(client, clock, event).json()["duplicate"] is False
    after = state(engine)
    assert paddle(client, clock, event).json()["duplicate"] is True
    assert state(engine) == after


def fastspring(client, payload, *, header=None):
    body = body_of(payload)
    return client.post(
        "/v1/hooks/fastspring", content=body, headers={"X-FS-Signature": header or fastspring_header(body)}
    )


def order(event_id, *, next_ms):
    return {
        "id": event_id,
        "live": False,
        "processed": False,
        "type": "order.completed",
        "created": 1767603600000,
        "data": {
            "order": "ord_fs_1",
            "id": "ord_fs_1",
            "reference": "ACM260105-1234-5678",
            "completed": True,
            "customer": {"first": "Erin", "last": "Fs", "email": "erin@buyer.example"},
            "items": [
                {
                    "product": "acme-editor-yearly",
                    "quantity": 1,
                    "subscription": {"id": "sub_fs_1", "subscription": "sub_fs_1", "next": next_ms},
                }
            ],
        },
    }


def test_fastspring_order_renewal_deactivation_and_return(client, engine, clock, smtp):
    mapping(engine, clock, "fastspring", "acme-editor-yearly", on_refund="suspend")
    year = clock.now() + dt.timedelta(days=365)
    answer = fastspring(client, {"events": [order("fs_evt_1", next_ms=int(year.timestamp() * 1000))]})
    assert answer.status_code == 200 and answer.text == "fs_evt_1"
    mail = wait_for_mail(smtp, "erin@buyer.example")
    assert (
        "license key" in mail["Subject"] and "Hello Erin Fs," in mail.get_body(preferencelist=("plain",)).get_content()
    )
    assert license_row(engine).expires_at.date() == year.date()

    two_years = year + dt.timedelta(days=365)
    charge = {
        "id": "fs_evt_2",
        "type": "subscription.charge.completed",
        "data": {
            "order": {"id": "ord_fs_2"},
            "subscription": {"id": "sub_fs_1", "next": int(two_years.timestamp() * 1000)},
        },
    }
    ended = {
        "id": "fs_evt_3",
        "type": "subscription.deactivated",
        "data": {"id": "sub_fs_1", "subscription": "sub_fs_1", "end": int(year.timestamp() * 1000)},
    }
    both = fastspring(client, {"events": [charge, ended]})
    assert both.text.splitlines() == ["fs_evt_2", "fs_evt_3"]
    assert license_row(engine).expires_at.date() == year.date()

    returned = {
        "id": "fs_evt_4",
        "type": "return.created",
        "data": {"return": "ret_1", "original": {"id": "ord_fs_1", "order": "ord_fs_1"}},
    }
    fastspring(client, {"events": [returned]})
    assert license_row(engine).state == "suspended"


def test_fastspring_refuses_forged_events_and_ignores_replays(client, engine, clock):
    mapping(engine, clock, "fastspring", "acme-editor-yearly")
    payload = {"events": [order("fs_evt_9", next_ms=0)]}
    before = state(engine)
    body = body_of(payload)
    for header in (fastspring_header(body, secret="not-the-secret"), "", "bm90IGEgc2lnbmF0dXJl"):
        answer = client.post("/v1/hooks/fastspring", content=body, headers={"X-FS-Signature": header})
        assert answer.status_code == 401
    assert state(engine) == before
    assert fastspring(client, payload).status_code == 200
    after = state(engine)
    assert fastspring(client, payload).text == "fs_evt_9"  # acknowledged again, changed nothing
    assert state(engine) == after
    assert license_row(engine).expires_at is None


def test_hostile_signature_headers_are_refused_not_crashed(client, engine, clock):
    """Non-ASCII signatures and 400-digit timestamps: a clean 401 from every provider, never a 500."""
    before = state(engine)
    body = body_of({"events": []})
    hostile = {
        "/v1/hooks/stripe": ["t=1,v1=é".encode("latin-1"), ("t=" + "9" * 400 + ",v1=00").encode()],
        "/v1/hooks/paddle": ["ts=1;h1=é".encode("latin-1"), ("ts=" + "9" * 400 + ";h1=00").encode()],
        "/v1/hooks/fastspring": ["é".encode("latin-1")],
    }
    for path, headers in hostile.items():
        name = {"stripe": "Stripe-Signature", "paddle": "Paddle-Signature"}.get(
            path.rsplit("/", 1)[1], "X-FS-Signature"
        )
        for header in headers:
            answer = client.post(path, content=body, headers={name: header})
            assert answer.status_code == 401, (path, header, answer.text)
    # A correctly signed body with a 400-digit timestamp: stale, not an overflow.
    assert paddle(client, clock, {"event_id": "e"}, ts=int("9" * 400)).json()["error"]["code"] == "stale_signature"
    assert state(engine) == before
