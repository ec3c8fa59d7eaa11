"""``POST /v1/consume`` through the plain web API: counted, refused past the limit, reset each period, once per key."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from licentia.core.clock import UTC
from licentia.server.licenses.changes import change_state
from licentia.server.licenses.service import issue_license
from licentia.server.meters.periods import period_at
from licentia.server.policies.schemas import PolicySpec
from licentia.server.policies.service import create_policy
from tests.server.helpers import Installation, auth


def _licensed(client: Any, product: Any, engine: Any, clock: Any, *, overrides: dict[str, Any] | None = None) -> Any:
    """An installation activated on a license of the type "Studio" (renders: 10 per month, exports: 2 a day)."""
    with engine.begin() as conn:
        meters = {"renders": {"limit": 10, "period": "month"}, "exports": {"limit": 2, "period": "day"}}
        create_policy(
            conn, PolicySpec(knobs={"meters": meters}, name="Studio"), product="acme", actor="test", now=clock.now()
        )
        issued = issue_license(
            conn, product="acme", email="ada@example.com", now=clock.now(), policy="Studio", overrides=overrides
        )
    app = Installation(client, product.public_key)
    app.check()
    app.check("/v1/activate", key=issued.key)
    app.license_id = issued.id  # type: ignore[attr-defined]
    return app


def consume(app: Any, meter: str, amount: int = 1, **extra: Any) -> Any:
    body = {"meter": meter, "amount": amount, "token": app.token, **extra}
    return app.client.post("/v1/consume", json=body, headers=auth(app.credential))


def test_consumption_answers_what_remains_and_is_refused_past_the_limit(client, product, engine, clock):
    app = _licensed(client, product, engine, clock)
    first = consume(app, "renders", 3)
    assert first.status_code == 200, first.text
    body = first.json()
    assert (body["used"], body["limit"], body["remaining"], body["period"]) == (3, 10, 7, "month")
    assert body["period_start"] == "2026-01-01T00:00:00Z" and body["period_end"] == "2026-02-01T00:00:00Z"
    assert consume(app, "renders", 7).json()["remaining"] == 0
    refused = consume(app, "renders", 1)
    assert refused.status_code == 409
    error = refused.json()["error"]
    assert error["code"] == "quota_exceeded" and "limit of 10" in error["message"]
    assert (error["used"], error["limit"], error["remaining"]) == (10, 10, 0)
    assert error["period_end"] == "2026-02-01T00:00:00Z"
    # Reading costs nothing, even at the limit.
    assert consume(app, "renders", 0).json()["remaining"] == 0


def test_a_refused_consumption_counts_nothing(client, product, engine, clock):
    app = _licensed(client, product, engine, clock)
    assert consume(app, "renders", 8).status_code == 200
    assert consume(app, "renders", 5).status_code == 409  # 8 + 5 > 10: nothing of the 5 is counted
    assert consume(app, "renders", 2).json()["remaining"] == 0


def test_each_period_starts_again_on_the_utc_calendar(client, product, engine, clock):
    app = _licensed(client, product, engine, clock)
    assert consume(app, "exports", 2).status_code == 200
    assert consume(app, "exports", 1).status_code == 409
    clock.advance(days=1)
    app.check()  # a day later the application checks in, and consumes again
    again = consume(app, "exports", 1).json()
    assert (again["used"], again["remaining"], again["period_start"]) == (1, 1, "2026-01-06T00:00:00Z")
    clock.advance(days=27)  # February: renders start again too
    app.check()
    assert consume(app, "renders", 10).json()["period_start"] == "2026-02-01T00:00:00Z"


def test_a_license_overrides_a_meter_limit(client, product, engine, clock):
    app = _licensed(client, product, engine, clock, overrides={"meters": {"renders": {"limit": 50, "period": "week"}}})
    body = consume(app, "renders", 40).json()
    assert (body["limit"], body["remaining"], body["period"]) == (50, 10, "week")
    assert body["period_start"] == "2026-01-05T00:00:00Z"  # a Monday


def test_the_same_idempotency_key_is_counted_once(client, product, engine, clock):
    app = _licensed(client, product, engine, clock)
    first = consume(app, "renders", 4, idempotency_key="job-17")
    retry = consume(app, "renders", 4, idempotency_key="job-17")
    assert first.json()["used"] == 4 and first.json()["replayed"] is False
    assert retry.status_code == 200 and retry.json()["used"] == 4 and retry.json()["replayed"] is True
    reused = consume(app, "renders", 5, idempotency_key="job-17")
    assert reused.status_code == 409 and reused.json()["error"]["code"] == "idempotency_key_reused"
    # A key refused past the limit was not spent: a later retry may count it.
    assert consume(app, "renders", 6, idempotency_key="job-18").json()["used"] == 10
    assert consume(app, "renders", 1, idempotency_key="job-19").status_code == 409
    clock.advance(days=31)
    app.check()
    assert consume(app, "renders", 1, idempotency_key="job-19").json()["used"] == 1


@pytest.mark.parametrize(
    ("meter", "amount", "code", "status"),
    [
        ("pages", 1, "unknown_meter", 404),
        ("renders", -1, "validation_error", 422),
        ("renders", 2**60, "validation_error", 422),
        ("1bad", 1, "validation_error", 422),
    ],
)
def test_bad_requests_get_clear_errors(client, product, engine, clock, meter, amount, code, status):
    app = _licensed(client, product, engine, clock)
    answer = consume(app, meter, amount)
    assert (answer.status_code, answer.json()["error"]["code"]) == (status, code)


def test_only_an_installation_holding_a_seat_consumes_and_proves_it(client, product, engine, clock):
    app = _licensed(client, product, engine, clock)
    # No credential: a device id or a fingerprint is public data.
    anonymous = client.post("/v1/consume", json={"meter": "renders", "amount": 1, "token": app.token})
    assert anonymous.status_code == 401 and anonymous.json()["error"]["code"] == "invalid_credential"
    # A copied state carries an older token.
    stale = app.token
    app.check()
    copy = client.post(
        "/v1/consume", json={"meter": "renders", "amount": 1, "token": "x" + stale}, headers=auth(app.credential)
    )
    assert copy.status_code == 401 and copy.json()["error"]["code"] == "stale_token"
    no_token = client.post("/v1/consume", json={"meter": "renders", "amount": 1}, headers=auth(app.credential))
    assert no_token.json()["error"]["code"] == "stale_token"
    # An installation without a license (a trial) consumes nothing.
    trial = Installation(client, product.public_key, machine="m2", disk="d2", cpu="c2", mac="n2")
    trial.check()
    assert consume(trial, "renders").json()["error"]["code"] == "not_registered"
    # A suspended license consumes nothing either.
    with engine.begin() as conn:
        change_state(conn, license_id=app.license_id, action="suspend", actor="test", now=clock.now())
    assert consume(app, "renders").json()["error"]["code"] == "license_suspended"


def test_usage_per_license_in_the_developer_api_and_the_quota_event(client, product, engine, clock, migrated):
    from licentia.server.auth.tokens import create_token

    app = _licensed(client, product, engine, clock)
    consume(app, "renders", 10)
    with engine.begin() as conn:
        token = create_token(conn, name="ci", scopes=["read"], now=clock.now(), created_by="test").token
    usage = client.get(f"/v1/admin/licenses/{app.license_id}/usage", headers={"Authorization": f"Bearer {token}"})
    assert usage.status_code == 200, usage.text
    meters = {m["meter"]: m for m in usage.json()["meters"]}
    assert meters["renders"]["used"] == 10 and meters["renders"]["remaining"] == 0
    assert meters["exports"]["used"] == 0 and meters["exports"]["remaining"] == 2
    with engine.connect() as conn:
        import sqlalchemy as sa

        kinds = conn.execute(sa.text("SELECT kind, data FROM events WHERE kind = 'quota_reached'")).all()
    assert len(kinds) == 1


def test_periods_follow_the_utc_calendar():
    at = dt.datetime(2026, 12, 31, 23, 30, tzinfo=UTC)
    assert period_at("month", at).end == dt.datetime(2027, 1, 1, tzinfo=UTC)
    assert period_at("week", at).start == dt.datetime(2026, 12, 28, tzinfo=UTC)
    assert period_at("year", at).start == dt.datetime(2026, 1, 1, tzinfo=UTC)
    assert period_at("lifetime", at).end is None


def test_idempotency_keys_are_purged_after_a_week(client, product, engine, clock):
    from licentia.server.meters.retention import purge_keys

    app = _licensed(client, product, engine, clock)
    assert consume(app, "renders", 1, idempotency_key="old").status_code == 200
    clock.advance(days=8)
    app.check()
    assert consume(app, "renders", 1, idempotency_key="new").status_code == 200
    with engine.begin() as conn:
        assert purge_keys(conn, clock.now()) == 1
    # The purged key is a new consumption again; the kept one is still counted once.
    assert consume(app, "renders", 1, idempotency_key="new").json()["replayed"] is True
