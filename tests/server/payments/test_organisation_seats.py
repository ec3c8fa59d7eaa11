"""Organisation licenses sold by Stripe, Paddle and FastSpring: a purchase of 10 seats, an upgrade to 15 and a
downgrade to 8, each applied once however often the provider delivers it (signed as each provider documents)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa

from licentia.server.licenses.views import license_view
from licentia.server.store.tables import audit_entries, licenses, organisation_members, organisations, payment_events
from tests.server.helpers import Installation
from tests.server.payments.conftest import body_of, fastspring_header, mapping, paddle_header, state, stripe_header
from tests.server.portal.conftest import mail_about

OLGA = "olga@acme-design.example"


def stripe(client: Any, clock: Any, event_id: str, kind: str, obj: dict[str, Any]) -> Any:
    body = body_of({"id": event_id, "type": kind, "data": {"object": obj}})
    header = stripe_header(body, int(clock.now().timestamp()))
    return client.post("/v1/hooks/stripe", content=body, headers={"Stripe-Signature": header})


def paddle(client: Any, clock: Any, event_id: str, kind: str, data: dict[str, Any]) -> Any:
    body = body_of({"event_id": event_id, "event_type": kind, "data": data})
    return client.post(
        "/v1/hooks/paddle",
        content=body,
        headers={"Paddle-Signature": paddle_header(body, int(clock.now().timestamp()))},
    )


def fastspring(client: Any, clock: Any, event_id: str, kind: str, data: dict[str, Any]) -> Any:
    body = body_of({"events": [{"id": event_id, "type": kind, "data": data}]})
    return client.post("/v1/hooks/fastspring", content=body, headers={"X-FS-Signature": fastspring_header(body)})


def twice(deliver: Any, *args: Any) -> str:
    """Deliver one event twice (the providers retry): the second changes nothing and says so."""
    first = deliver(*args)
    assert first.status_code == 200, first.text
    engine = deliver.engine
    before = state(engine)
    with engine.connect() as conn:
        outcome = conn.execute(sa.select(payment_events.c.outcome).order_by(payment_events.c.id.desc())).first()
    again = deliver(*args)
    assert again.status_code == 200, again.text
    if "json" in again.headers["content-type"]:  # FastSpring is answered the ids it may mark processed
        assert again.json()["duplicate"] is True, again.text
    assert state(engine) == before
    return str(outcome[0])


def seats(engine: Any) -> tuple[int, int | None, str]:
    with engine.connect() as conn:
        row = conn.execute(sa.select(licenses.c.id, licenses.c.organisation_id)).one()
        view = license_view(conn, row.id)
        name = conn.execute(sa.select(organisations.c.name)).scalar_one()
    return view["max_devices"], row.organisation_id, name


def seat_audit(engine: Any) -> list[tuple[Any, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(audit_entries.c.details)
            .where(audit_entries.c.action == "organisation.seats")
            .order_by(audit_entries.c.id)
        ).scalars()
        return [(d.get("seats"), d.get("previous")) for d in rows]


class Deliver:
    def __init__(self, fn: Any, client: Any, clock: Any, engine: Any) -> None:
        self.fn, self.client, self.clock, self.engine = fn, client, clock, engine

    def __call__(self, event_id: str, kind: str, data: dict[str, Any]) -> Any:
        return self.fn(self.client, self.clock, event_id, kind, data)


def _ten_fifteen_eight(
    deliver: Deliver,
    engine: Any,
    client: Any,
    product: Any,
    smtp: Any,
    bought: tuple[str, dict[str, Any]],
    **changes: Any,
) -> None:
    """The purchase, the upgrade and the downgrade, each delivered twice, with 9 machines on the license."""
    kind, data = bought
    assert twice(deliver, "evt_buy", kind, data) == "license issued"
    assert seats(engine) == (10, 1, "Acme Design")
    with engine.connect() as conn:
        owner = conn.execute(sa.select(organisation_members)).one()
    assert (owner.email, owner.role, owner.joined_at is not None) == (OLGA, "owner", True)

    assert "seats 10 -> 15" in twice(deliver, "evt_up", *changes["up"])
    assert seats(engine)[0] == 15
    key = license_key(engine)
    apps = [Installation(client, product.public_key, machine=f"m{i}", disk=f"d{i}", mac=f"n{i}") for i in range(10)]
    for app in apps[:9]:
        app.check()
        assert app.check("/v1/activate", key=key)["status"] == "registered"

    said = twice(deliver, "evt_down", *changes["down"])
    assert "seats 15 -> 8" in said and "9 machines hold one" in said
    assert seats(engine)[0] == 8
    assert all(app.check()["status"] == "registered" for app in apps[:9])  # bound machines keep their seats
    apps[9].check()
    refused = apps[9].call("/v1/activate", key=key)  # a new machine waits for a freed seat
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "too_many_devices"
    told = mail_about(smtp, OLGA, "now has 8 seats", 2)
    assert "9 machines hold one" in told.get_body(("plain",)).get_content()
    assert seat_audit(engine) == [(10, None), (15, 10), (8, 15)]


def license_key(engine: Any) -> str:
    """The key as the buyer got it (kept sealed with the server's key, as for every sale)."""
    from licentia.server.notify.sealing import open_value

    with engine.connect() as conn:
        sealed = conn.execute(sa.select(licenses.c.key_sealed)).scalar_one()
    return open_value(sealed, FERNET[0], what="key")


FERNET: list[Any] = []


def test_stripe_sells_ten_seats_then_fifteen_then_eight(client, engine, clock, smtp, settings, product) -> None:
    FERNET[:] = [settings.fernet()]
    mapping(engine, clock, "stripe", "price_team", organisation=True)
    end = int((clock.now() + dt.timedelta(days=30)).timestamp())
    line = {"price": {"id": "price_team", "product": "prod_team"}, "period": {"end": end}}
    invoice = {
        "id": "in_1", "subscription": "sub_team", "billing_reason": "subscription_create", "amount_paid": 1000,
        "customer_email": OLGA, "customer_name": "Acme Design", "lines": {"data": [{**line, "quantity": 10}]},
    }  # fmt: skip

    def sub(quantity: int) -> tuple[str, dict[str, Any]]:
        return "customer.subscription.updated", {"id": "sub_team", "items": {"data": [{"quantity": quantity}]}}

    deliver = Deliver(stripe, client, clock, engine)
    _ten_fifteen_eight(deliver, engine, client, product, smtp, ("invoice.paid", invoice), up=sub(15), down=sub(8))


def test_paddle_sells_ten_seats_then_fifteen_then_eight(client, engine, clock, smtp, settings, product) -> None:
    FERNET[:] = [settings.fernet()]
    mapping(engine, clock, "paddle", "pri_team", organisation=True)
    ends = (clock.now() + dt.timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%S.000000Z")
    item = {"price": {"id": "pri_team", "product_id": "pro_team"}}
    transaction = {
        "id": "txn_1", "status": "completed", "origin": "web", "subscription_id": "sub_pdl",
        "custom_data": {"email": OLGA, "name": "Acme Design"}, "items": [{**item, "quantity": 10}],
        "billing_period": {"ends_at": ends}, "details": {"totals": {"grand_total": "1000"}},
    }  # fmt: skip

    def sub(quantity: int) -> tuple[str, dict[str, Any]]:
        return "subscription.updated", {"id": "sub_pdl", "items": [{**item, "quantity": quantity}]}

    deliver = Deliver(paddle, client, clock, engine)
    bought = ("transaction.completed", transaction)
    _ten_fifteen_eight(deliver, engine, client, product, smtp, bought, up=sub(15), down=sub(8))


def test_fastspring_sells_ten_seats_then_fifteen_then_eight(client, engine, clock, smtp, settings, product) -> None:
    FERNET[:] = [settings.fernet()]
    mapping(engine, clock, "fastspring", "acme-team", organisation=True)
    next_ms = int((clock.now() + dt.timedelta(days=30)).timestamp() * 1000)
    order = {
        "order": "ord_1", "reference": "ACME-1", "completed": True,
        "customer": {"first": "Acme", "last": "Design", "email": OLGA},
        "items": [{"product": "acme-team", "quantity": 10, "subscription": {"id": "fs_sub", "next": next_ms}}],
    }  # fmt: skip

    def sub(quantity: int) -> tuple[str, dict[str, Any]]:
        return "subscription.updated", {"id": "fs_sub", "subscription": "fs_sub", "quantity": quantity}

    deliver = Deliver(fastspring, client, clock, engine)
    _ten_fifteen_eight(deliver, engine, client, product, smtp, ("order.completed", order), up=sub(15), down=sub(8))


def test_a_person_mapping_ignores_seat_changes(client, engine, clock, smtp, settings, product) -> None:
    mapping(engine, clock, "paddle", "pri_solo")
    item = {"price": {"id": "pri_solo", "product_id": "pro_solo"}, "quantity": 3}
    bought = {
        "id": "txn_9",
        "origin": "web",
        "subscription_id": "sub_solo",
        "custom_data": {"email": OLGA},
        "items": [item],
    }
    assert paddle(client, clock, "evt_1", "transaction.completed", bought).json()["outcome"] == "license issued"
    changed = paddle(
        client, clock, "evt_2", "subscription.updated", {"id": "sub_solo", "items": [{**item, "quantity": 9}]}
    )
    assert changed.json()["outcome"] == "not an organisation license: seats unchanged"
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(organisations)).scalar_one() == 0


def test_a_downgrade_of_named_user_seats_keeps_the_most_recently_active(
    client, engine, clock, smtp, settings, product
) -> None:
    """Ten people hold seats of a "Team" license of named users; a downgrade to 8 frees the two least recently
    active at once and tells each of them, once however often Stripe delivers it."""
    from licentia.server.store.tables import license_users, policies
    from licentia.server.users import service as users
    from tests.server.users.conftest import user_type

    user_type(engine, clock, seats=10)
    with engine.connect() as conn:
        team = conn.execute(sa.select(policies.c.id).where(policies.c.name == "Team")).scalar_one()
    mapping(engine, clock, "stripe", "price_people", organisation=True, policy_id=team)
    end = int((clock.now() + dt.timedelta(days=30)).timestamp())
    line = {"price": {"id": "price_people", "product": "prod_people"}, "period": {"end": end}, "quantity": 10}
    invoice = {
        "id": "in_p", "subscription": "sub_people", "billing_reason": "subscription_create", "amount_paid": 1000,
        "customer_email": OLGA, "customer_name": "Acme Design", "lines": {"data": [line]},
    }  # fmt: skip
    deliver = Deliver(stripe, client, clock, engine)
    assert twice(deliver, "evt_people", "invoice.paid", invoice) == "license issued"
    people = [f"p{i}@acme-design.example" for i in range(10)]
    with engine.begin() as conn:
        license_id = conn.execute(sa.select(licenses.c.id)).scalar_one()
        for i, email in enumerate(people):
            users.assign_user(conn, license_id=license_id, email=email, actor="test", now=clock.now())
            active = clock.now() - dt.timedelta(hours=i)  # p0 the most recent, p9 the least
            conn.execute(license_users.update().where(license_users.c.email == email).values(last_active_at=active))

    downgrade = ("customer.subscription.updated", {"id": "sub_people", "items": {"data": [{"quantity": 8}]}})
    said = twice(deliver, "evt_people_down", *downgrade)
    assert "seats 10 -> 8" in said and "2 people's seats freed" in said, said
    with engine.connect() as conn:
        held = set(conn.execute(sa.select(license_users.c.email).where(license_users.c.freed_at.is_(None))).scalars())
    assert held == set(people[:8])
    for gone in people[8:]:
        told = mail_about(smtp, gone, "your seat at Acme Design was freed", 1)
        assert "the people who used it most recently keep theirs" in told.get_body(("plain",)).get_content()
