"""Rollups computed from real checks and events match what happened, and recomputing changes nothing."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

import pytest
import sqlalchemy as sa

from licentia.server.rollups.service import breakdown, refresh, series
from licentia.server.store.models import DailyRollup, table_of
from tests.server.helpers import Installation


def test_rollups_count_installs_activity_versions_and_events(
    client: Any, engine: Any, clock: Any, product: Any
) -> None:
    day1 = clock.now().date()
    a = Installation(client, product.public_key, machine="a", disk="a", mac="a")
    b = Installation(client, product.public_key, machine="b", disk="b", mac="b")
    a.check(app_version="1.0", os="Windows 11")
    b.check(app_version="1.0", os="macOS 14")
    b.call("/v1/events", events=[{"id": "u1", "kind": "uninstall"}])
    clock.advance(days=1)
    a.check(app_version="1.1")
    day2 = clock.now().date()

    with engine.begin() as conn:
        refresh(conn, [day1, day2])
        first = refresh(conn, [day1, day2])  # idempotent: same rows again
        count = conn.execute(sa.select(sa.func.count()).select_from(table_of(DailyRollup))).scalar_one()
        assert count == first

        def values(metric: str, dimension: str = "") -> list[int]:
            rows = series(conn, product_id=product.id, metric=metric, first=day1, last=day2, dimension=dimension)
            return [v for _, v in rows]

        assert values("new_devices") == [2, 0]
        assert values("active_1d") == [2, 1]
        assert values("active_7d") == [2, 2]
        assert values("devices", "trial") == [2, 2]
        assert values("events", "uninstall") == [1, 0]
        versions = dict(breakdown(conn, product_id=product.id, metric="versions_7d", day=day2))
        assert versions == {"1.1": 1, "1.0": 1}  # a upgraded; its newest version counts
        systems = dict(breakdown(conn, product_id=product.id, metric="os_7d", day=day2))
        assert systems == {"Windows 11": 1, "macOS 14": 1}


def test_demo_fills_a_fresh_database_and_the_dashboard_shows_it(
    client: Any, engine: Any, clock: Any, product: Any
) -> None:
    from licentia.server.demo import fill
    from licentia.server.rollups.service import days_between
    from tests.server.admin_fixtures import make_admin, sign_in

    with engine.begin() as conn:
        made = fill(conn, product="acme", clock=clock, rng=random.Random(1), count=300, days=30)
        refresh(conn, days_between(clock.now().date() - dt.timedelta(days=30), clock.now().date()))
        installs = series(
            conn,
            product_id=product.id,
            metric="new_devices",
            first=clock.now().date() - dt.timedelta(days=30),
            last=clock.now().date(),
        )
    assert made["devices"] == 300 and made["licenses"] > 10 and made["events"] > 1500
    assert sum(v for _, v in installs) == 300
    make_admin(engine, clock)
    sign_in(client)
    page = client.get("/admin").text
    assert page.count('class="bar"') > 50 and 'id="chart-piracy"' in page


def _all_rollups(conn: Any) -> set[tuple[Any, ...]]:
    """Every rollup row but the minute's own cut-off and count by status (a full recompute has no "now")."""
    from licentia.server.rollups.live import MINUTE_METRICS

    table = table_of(DailyRollup)
    rows = conn.execute(
        sa.select(table.c.day, table.c.product_id, table.c.metric, table.c.dimension, table.c.value).where(
            table.c.metric.not_in(MINUTE_METRICS)
        )
    )
    return {tuple(row) for row in rows}


def test_incremental_rollups_match_a_full_recompute_after_days_of_use_a_stop_and_an_import(
    client: Any, engine: Any, clock: Any, product: Any
) -> None:
    """Run after run, only new or changed days are recomputed, and they end up as a full recompute makes them."""
    from licentia.server.rollups.incremental import refresh_incremental
    from licentia.server.rollups.service import days_between

    rng = random.Random(3)
    first_day = clock.now().date()
    fleet = [Installation(client, product.public_key, machine=f"m{n}", disk=f"d{n}", mac=f"n{n}") for n in range(6)]
    planned = []
    for day in range(12):
        for n, device in enumerate(fleet):
            if rng.random() < 0.6:
                # A past day's OS mix counts each installation's OS as it is now: keep each one's fixed.
                device.check(app_version=rng.choice(["1.0", "1.1", "2.0"]), os=("Linux", "Windows 11")[n % 2])
        if day % 3 == 0:
            fleet[day % 6].call("/v1/events", events=[{"id": f"u{day}", "kind": "usage"}])
        if day not in (5, 6, 7):  # the server was stopped three days: the next run catches up
            with engine.begin() as conn:
                planned.append(refresh_incremental(conn, now=clock.now()).days)
        clock.advance(hours=23)
        if day % 4 == 1:
            fleet.append(Installation(client, product.public_key, machine=f"x{day}", disk=f"x{day}", mac=f"x{day}"))
            fleet[-1].check(app_version="2.0")
        clock.advance(hours=1)
    today = clock.now().date()
    # A later import adds an event to a closed day: its id is past the watermark, so its day is redone.
    imported = dt.datetime.combine(first_day + dt.timedelta(days=2), dt.time(12), tzinfo=dt.UTC)
    with engine.begin() as conn:
        device_id = fleet[0].device_id
        from licentia.server.events.service import event_row, record_events

        record_events(
            conn, [event_row(product_id=product.id, device_id=device_id, kind="feedback", received_at=imported)]
        )
        redone = refresh_incremental(conn, now=clock.now()).days
        incremental = _all_rollups(conn)
        refresh(conn, days_between(first_day, today))
        full = _all_rollups(conn)
    # Before the stop a run redid today and yesterday only; after it, the three missed days too.
    assert planned[1] == [first_day, first_day + dt.timedelta(days=1)]
    assert len(planned[5]) == 5
    assert redone == sorted({imported.date(), today - dt.timedelta(days=1), today})
    assert incremental == full


def test_the_minute_task_of_a_running_server_keeps_todays_rollups_fresh(
    migrated: Any, engine: Any, clock: Any, product: Any
) -> None:
    import time

    from fastapi.testclient import TestClient

    from licentia.server.app import create_app

    app = create_app(migrated.model_copy(update={"rollup_interval_seconds": 0.2}), clock=clock)
    with TestClient(app) as client:
        for n in range(3):
            Installation(client, product.public_key, machine=f"t{n}", disk=f"t{n}", mac=f"t{n}").check()
        deadline = time.monotonic() + 30
        installs: list[tuple[dt.date, int]] = []
        while time.monotonic() < deadline:
            with engine.connect() as conn:
                today = clock.now().date()
                installs = series(conn, product_id=product.id, metric="new_devices", first=today, last=today)
            if installs[0][1] == 3:
                break
            time.sleep(0.2)
    assert installs == [(clock.now().date(), 3)]


def test_the_minute_task_reads_on_one_core_of_postgresql(migrated: Any) -> None:
    """Its reads of every installation must not take every core from the status checks meanwhile."""
    from licentia.server.store.engine import database_urls, make_sync_engine

    urls = database_urls(migrated.resolved_database_url)
    if urls.is_sqlite:
        pytest.skip("PostgreSQL's parallel workers")
    background = make_sync_engine(urls, pool_size=1, background=True)
    serving = make_sync_engine(urls, pool_size=1)
    try:
        with background.connect() as conn:
            assert conn.exec_driver_sql("SHOW max_parallel_workers_per_gather").scalar() == "0"
        with serving.connect() as conn:
            assert conn.exec_driver_sql("SHOW max_parallel_workers_per_gather").scalar() != "0"
    finally:
        background.dispose()
        serving.dispose()
