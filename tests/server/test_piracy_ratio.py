"""The piracy ratio on a known population: the dashboard, the rollups after a rebuild, the API and the CLI agree.

Two licenses sold (a third revoked); five unlicensed users active in the last
30 days: four installations still used after their trial ended (one of them
reinstalled on a formatted machine: its lineage counts once) and one suspected
copy (a licensed state carried to another computer). Not counted: a trial still
running, a trial that ended after its last use, an expired trial last used 39
days ago, and the licensed installation itself. Both databases.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from typing import Any

import pytest

from licentia.core.clock import ManualClock, SystemClock
from licentia.server.admin.dashboard.figures import dashboard
from licentia.server.auth.tokens import create_token
from licentia.server.licenses.changes import change_state
from licentia.server.licenses.service import issue_license
from licentia.server.products.service import update_policy
from licentia.server.rollups.incremental import refresh_incremental
from licentia.server.rollups.piracy import PastFigures, ratio_series
from licentia.server.rollups.ratio import DEFINITION
from licentia.server.rollups.service import compute_days, days_between, refresh, replace_days
from tests.server.admin_fixtures import make_admin, sign_in
from tests.server.helpers import Installation

# The population's last day is today (the CLI reads the system's clock): its history ends a minute after midnight.
AGE = dt.timedelta(days=48, minutes=30)


@pytest.fixture
def clock() -> ManualClock:
    today = SystemClock().now().date()
    return ManualClock(dt.datetime.combine(today, dt.time(0, 1), tzinfo=dt.UTC) - AGE)


FIGURES = ("licenses_sold", "unlicensed_active", "copies_active", "unlicensed_per_license", "copies_per_license")


class Population:
    def __init__(self, client: Any, product: Any, engine: Any, clock: Any) -> None:
        with engine.begin() as conn:
            update_policy(conn, product_id=product.id, values={"trial_days": 7})

        def install(name: str) -> Installation:
            app = Installation(client, product.public_key, machine=name, disk=name, cpu=name, mac=name)
            app.check(app_version="1.0")
            return app

        self.gone = install("gone")
        clock.advance(days=9)
        self.gone_day = clock.now().date()
        assert self.gone.check()["status"] == "trial_expired"  # used after its trial, then not for 39 days
        clock.advance(days=31)
        self.first_day = clock.now().date()
        users = [install(f"user{n}") for n in range(4)]
        self.stopped = install("stopped")  # tried, and not used again after its trial
        with engine.begin() as conn:
            sold = [issue_license(conn, product="acme", email=f"b{n}@example.com", now=clock.now()) for n in range(3)]
            change_state(conn, license_id=sold[2].id, action="revoke", reason="chargeback", actor="t", now=clock.now())
        self.licensed = install("bought")
        clock.advance(minutes=30)
        assert self.licensed.check("/v1/activate", key=sold[0].key)["status"] == "registered"
        clock.advance(days=6)
        self.trying = install("trying")  # in its trial still
        clock.advance(days=2)  # the users' trials ended yesterday; they go on using the application
        self.day = clock.now().date()
        for app in users:
            assert app.check()["status"] == "trial_expired"
        # user3's machine was formatted: the reinstall is recognised, a new installation replacing the old one.
        reinstalled = Installation(client, product.public_key, machine="user3", disk="user3", cpu="user3", mac="user3")
        assert reinstalled.check()["device"] != users[3].device_id
        self.replaced, self.users = users[3].device_id, [*users[:3], reinstalled]
        # The licensed state carried to a computer that keeps none of the machine's parts: a copy.
        self.copy = Installation(client, product.public_key, machine="x", disk="x", cpu="x", mac="x")
        self.copy.credential, self.copy.token = dict(self.licensed.credential or {}), self.licensed.token
        copied = self.copy.check()
        assert copied["clone_suspected"] is True and copied["license"] is None
        self.trying.check()
        self.licensed.check()


@pytest.fixture
def population(client: Any, product: Any, engine: Any, clock: Any) -> Population:
    return Population(client, product, engine, clock)


def _figures(day: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(day[name] for name in FIGURES)


EXPECTED_TODAY = (2, 5, 1, 2.5, 0.5)


def test_the_minute_and_a_rebuild_count_the_same_population(
    population: Population, engine: Any, clock: Any, product: Any
) -> None:
    day = population.day
    with engine.begin() as conn:
        refresh_incremental(conn, now=clock.now())  # today's figures as the minute's run counts them
        minute = ratio_series(conn, product_id=product.id, first=day, last=day)
        # A rebuild of every day (``licentia rollup --all``) counts today and the days before from check events.
        refresh(conn, days_between(population.first_day - dt.timedelta(days=40), day))
        rebuilt = ratio_series(conn, product_id=product.id, first=population.first_day, last=day)
        replace_days(conn, [day], compute_days(conn, [day], today=day))
        again = ratio_series(conn, product_id=product.id, first=day, last=day)
    assert _figures(minute[0]) == _figures(rebuilt[-1]) == _figures(again[0]) == EXPECTED_TODAY
    by_day = {d["day"]: _figures(d) for d in rebuilt}
    with engine.connect() as conn:
        early = ratio_series(conn, product_id=product.id, first=population.gone_day, last=population.gone_day)
    # Weeks before, the expired trial was in use and nothing was sold yet: a count, and no ratio.
    assert _figures(early[0]) == (0, 1, 0, None, None)
    # The first day: two licenses sold, every trial running.
    assert by_day[population.first_day] == (2, 0, 0, 0.0, 0.0)
    # The day the trials ended nobody had used an expired trial yet (a use on a later day counts).
    assert by_day[day - dt.timedelta(days=1)] == (2, 0, 0, 0.0, 0.0)


def test_the_dashboard_shows_the_ratio_its_counts_and_its_definition(
    population: Population, client: Any, engine: Any, clock: Any, product: Any
) -> None:
    with engine.begin() as conn:
        refresh(conn, days_between(population.first_day, population.day))
        board = dashboard(conn, product_id=product.id, today=population.day, days=7)
    assert _figures(board["ratio"]) == EXPECTED_TODAY
    make_admin(engine, clock)
    sign_in(client)
    page = client.get("/admin", params={"product": product.id, "days": 7}).text
    tile = page[page.index('id="tile-ratio-unlicensed"') :]
    assert tile.index("<b>2.5</b>") < tile.index("unlicensed users per license sold") < tile.index("</a>")
    assert "5 unlicensed users, 2 licenses sold" in tile[: tile.index("</a>")]
    copies = page[page.index('id="tile-ratio-copies"') :]
    assert "<b>0.5</b>" in copies[: copies.index("</a>")]
    chart = page[page.index('id="chart-ratio"') : page.index("</figure>", page.index('id="chart-ratio"'))]
    assert 'data-value="2.5"' in chart and 'data-value="0.5"' in chart
    definition = page[page.index('id="ratio-definition"') :]
    assert "within the last 30 days" in definition and "not revoked" in definition
    assert "a reinstall counts once" in definition.lower()


def test_the_developer_api_and_the_cli_give_the_same_figures(
    population: Population, client: Any, engine: Any, clock: Any, product: Any, migrated: Any, monkeypatch: Any,
    capsys: Any,
) -> None:  # fmt: skip
    from licentia.server.cli import main

    monkeypatch.setenv("LICENTIA_DATABASE_URL", migrated.resolved_database_url)
    monkeypatch.setenv("LICENTIA_SECRET_KEY", migrated.secret_key.get_secret_value())
    data_dir = str(migrated.data_dir)
    assert main(["rollup", "--all", "--data-dir", data_dir]) == 0
    with engine.begin() as conn:
        token = create_token(conn, name="bi", scopes=["read"], now=clock.now(), created_by="test").token
    answer = client.get(
        "/v1/admin/products/acme/piracy-ratio", params={"days": 3}, headers={"Authorization": f"Bearer {token}"}
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["definition"] == DEFINITION and body["active_days"] == 30
    assert [d["day"] for d in body["days"]] == [(population.day - dt.timedelta(days=n)).isoformat() for n in (2, 1, 0)]
    assert _figures(body["days"][-1]) == EXPECTED_TODAY
    assert body["days"][0]["unlicensed_active"] == 0
    refused = client.get("/v1/admin/products/nope/piracy-ratio", headers={"Authorization": f"Bearer {token}"})
    assert refused.status_code == 404 and refused.json()["error"]["code"] == "unknown_product"

    capsys.readouterr()
    assert main(["product", "piracy", "acme", "--days", "3", "--data-dir", data_dir]) == 0
    header, *rows = capsys.readouterr().out.splitlines()
    assert header.split("\t")[:3] == ["day", "licenses_sold", "unlicensed_active"]
    assert rows[-1].split("\t") == [population.day.isoformat(), "2", "5", "2.5", "1", "0.5"]
    assert main(["product", "piracy", "acme", "--days", "3", "--json", "--data-dir", data_dir]) == 0
    assert json.loads(capsys.readouterr().out) == body


def test_past_days_counted_at_once_match_each_day_counted_alone() -> None:
    """Random sightings, licenses, trial ends, copies and a reinstall chain: the one-walk count of many days
    (a rebuild) gives each day what judging its own 30-day window alone gives."""
    rng = random.Random(27)
    first = dt.date(2026, 3, 1)
    days = [first + dt.timedelta(days=n) for n in range(70)]

    def some_day() -> dt.date | None:
        return rng.choice([None, *days])

    candidates = {f"d{n}": (some_day(), rng.random() < 0.2, some_day()) for n in range(60)}
    # d0 replaced d60 (not a candidate: licensed from the start) on the 40th day.
    reinstalled = dt.datetime.combine(days[40], dt.time(12), tzinfo=dt.UTC)
    first_seen = {"d60": reinstalled - dt.timedelta(days=90), "d0": reinstalled}
    figures = PastFigures(candidates, set(candidates), {"d0": "d60"}, first_seen)
    seen = {day: {key for key in [*candidates, "other"] if rng.random() < 0.15} for day in days}
    wanted = days[29:]
    counted = figures.counts(wanted, seen)

    for day in wanted:
        end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
        unlicensed = copies = 0
        for key in candidates:
            sightings = [on for on in seen if key in seen[on] and day - dt.timedelta(days=29) <= on <= day]
            if not sightings:
                continue
            member = "d60" if key == "d0" and end <= reinstalled else key
            if member not in candidates:
                continue
            licensed_on, copy, trial_ended = candidates[member]
            copies += copy
            used_after_trial = trial_ended is not None and trial_ended < max(sightings)
            unlicensed += (copy or used_after_trial) and (licensed_on is None or licensed_on > day)
        assert counted[day] == {"unlicensed_active": [("", unlicensed)], "copies_active": [("", copies)]}, day
