"""Every webhook event is queued where it happens: the public API, the license services, releases, the sweep.

The public API runs in the app (a real database, the real check path);
the outbox is read to see what each cause queued for the endpoint.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa

from licentia.core.licensekeys import generate_key
from licentia.server.licenses.changes import change_state, renew
from licentia.server.licenses.service import issue_license
from licentia.server.notify.catalog import WebhookEvent, quota_exceeded
from licentia.server.notify.sweep import sweep_all
from licentia.server.notify.webhook_specs import WebhookSpec
from licentia.server.notify.webhooks import create_webhook
from licentia.server.releases.changes import publish_release
from licentia.server.store.tables import outbox
from tests.server.helpers import Installation


def hook(engine: Any, settings: Any, clock: Any, *events: str, product: str | None = "acme") -> int:
    with engine.begin() as conn:
        return create_webhook(
            conn,
            WebhookSpec(url="https://hooks.vendor.example/in", product=product, events=list(events)),
            now=clock.now(),
            fernet=settings.fernet(),
        ).id


def queued(engine: Any) -> list[tuple[str, dict[str, Any]]]:
    with engine.connect() as conn:
        query = sa.select(outbox.c.topic, outbox.c.payload).where(outbox.c.channel == "webhook")
        rows = conn.execute(query.order_by(outbox.c.id))
        return [(r.topic, r.payload["data"]) for r in rows.all()]


def topics(engine: Any) -> list[str]:
    return [topic for topic, _ in queued(engine)]


def test_every_event_has_a_description_and_a_dotted_name():
    from licentia.server.notify.catalog import DESCRIPTIONS

    assert set(DESCRIPTIONS) == set(WebhookEvent)
    assert all("." in event.value for event in WebhookEvent)


def test_trial_starts_once_per_new_machine_from_the_check(client, engine, settings, product, clock):
    hook(engine, settings, clock, "trial.started")
    first = Installation(client, product.public_key)
    first.check()
    first.check()  # the same installation again: nothing new
    # Another data path on the same computer shares its trial: no new start.
    Installation(client, product.public_key, path="/other-user").check()
    Installation(client, product.public_key, machine="m2", disk="d2", mac="n2").check()
    found = queued(engine)
    assert [t for t, _ in found] == ["trial.started", "trial.started"]
    assert found[0][1]["product"] == "acme" and found[0][1]["event"]["device_id"] == first.device_id


def test_activation_deactivation_invalid_key_over_limit_and_copy(client, engine, settings, product, clock):
    hook(engine, settings, clock, "machine.activated", "machine.deactivated", "key.invalid", "license.over_limit",
         "copy.suspected")  # fmt: skip
    with engine.begin() as conn:
        issued = issue_license(conn, product="acme", email="buyer@example.org", now=clock.now(), max_devices=1)
    app = Installation(client, product.public_key)
    app.check()
    assert app.call("/v1/activate", key=issued.key).status_code == 200
    assert app.call("/v1/activate", key=generate_key()).status_code == 400
    other = Installation(client, product.public_key, machine="m2", disk="d2", mac="n2", path="/p2")
    other.check()
    assert other.call("/v1/activate", key=issued.key).status_code == 403
    assert app.call("/v1/deactivate").status_code == 200
    # The state copied to another computer: its old token shows up again.
    app.check()
    old_token = app.token
    app.check()
    copy = Installation(client, product.public_key)
    copy.credential, copy.token, copy.fp = app.credential, old_token, dict(app.fp)
    copy.call("/v1/check")
    names = topics(engine)
    assert names[:4] == ["machine.activated", "key.invalid", "license.over_limit", "machine.deactivated"]
    assert "copy.suspected" in names[4:]
    assert issued.key not in str(queued(engine))  # key prefixes only, never a key


def test_license_services_emit_created_suspended_reinstated_revoked_renewed(engine, settings, product, clock):
    hook(engine, settings, clock)  # every event
    with engine.begin() as conn:
        issued = issue_license(conn, product="acme", email="buyer@example.org", now=clock.now())
        change_state(conn, license_id=issued.id, action="suspend", actor="t", now=clock.now())
        clock.advance(minutes=1)
        change_state(conn, license_id=issued.id, action="reinstate", actor="t", now=clock.now())
        renew(conn, license_id=issued.id, days=30, actor="t", now=clock.now())
        clock.advance(minutes=1)
        change_state(conn, license_id=issued.id, action="revoke", actor="t", now=clock.now())
    found = queued(engine)
    assert [t for t, _ in found] == [
        "license.created",
        "license.suspended",
        "license.reinstated",
        "license.renewed",
        "license.revoked",
    ]
    created = found[0][1]["license"]
    assert created["key_prefix"] == issued.key_prefix and created["customer_email"] == "buyer@example.org"
    assert found[-1][1]["license"]["state"] == "revoked"


def test_release_published_and_quota_exceeded_once_per_period(engine, settings, product, clock):
    hook(engine, settings, clock, "release.published", "quota.exceeded")
    with engine.begin() as conn:
        publish_release(conn, product="acme", version="2.0.0", channel="stable", actor="t", now=clock.now())
        start = clock.now().replace(day=1)
        for used in (101, 102):  # the metering service may call it on every use past the limit
            quota_exceeded(conn, product_id=product.id, license_id=7, meter="renders", used=used, limit=100,
                           period_start=start, now=clock.now())  # fmt: skip
    found = queued(engine)
    assert [t for t, _ in found] == ["release.published", "quota.exceeded"]
    assert found[0][1]["release"]["version"] == "2.0.0"
    assert found[1][1]["meter"] == "renders" and found[1][1]["used"] == 101


def test_sweep_queues_trial_ending_trial_expired_and_license_expired_once(client, engine, settings, product, clock):
    hook(engine, settings, clock, "trial.ending", "trial.expired", "license.expired")
    trying = Installation(client, product.public_key)
    trying.check()
    licensed = Installation(client, product.public_key, machine="m2", disk="d2", mac="n2", path="/p2")
    licensed.check()
    with engine.begin() as conn:
        issued = issue_license(conn, product="acme", email="b@example.org", now=clock.now(),
                               expires_at=clock.now() + dt.timedelta(days=40))  # fmt: skip
    assert licensed.call("/v1/activate", key=issued.key).status_code == 200
    assert sweep_all(engine, clock.now()) == 0  # nothing ends yet
    clock.advance(days=28)  # the 30-day trial ends in two days
    assert sweep_all(engine, clock.now()) == 1
    assert sweep_all(engine, clock.now()) == 0  # a second sweep (another host) queues nothing
    clock.advance(days=3)
    assert sweep_all(engine, clock.now()) == 1
    clock.advance(days=10)  # the license expired a day ago
    assert sweep_all(engine, clock.now()) == 1
    assert sweep_all(engine, clock.now()) == 0
    found = queued(engine)
    assert [t for t, _ in found] == ["trial.ending", "trial.expired", "license.expired"]
    machine = found[0][1]["machine"]
    assert trying.device_id in machine["installations"]  # the licensed machine is never reminded
    assert found[2][1]["license"]["id"] == issued.id


def test_nothing_is_swept_without_an_endpoint_that_wants_it(engine, settings, product, clock):
    hook(engine, settings, clock, "license.created")
    with engine.begin() as conn:
        issue_license(conn, product="acme", email="b@example.org", now=clock.now(),
                      expires_at=clock.now() + dt.timedelta(days=1))  # fmt: skip
    clock.advance(days=2)
    assert sweep_all(engine, clock.now()) == 0
    assert topics(engine) == ["license.created"]
