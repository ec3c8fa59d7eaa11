"""Events partitioned by month on PostgreSQL: moved by the migration, written once, dropped by month."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command

from licentia.core.clock import UTC
from licentia.server.events.service import event_row, record_events
from licentia.server.evidence.retention import drop_old_events
from licentia.server.store import partitions
from licentia.server.store.engine import alembic_config, current_revision, database_urls, make_sync_engine, upgrade
from tests.server.helpers import Installation

PRODUCT = (
    "INSERT INTO products (id, slug, name, collect_facts, facts_retention_days, notify, created_at)"
    " VALUES (1, 'acme', 'Acme', true, 365, '{}', '2026-01-01 00:00:00')"
)
POLICY = (
    "INSERT INTO policies (id, product_id, name, is_default, kind, trial_days, max_devices, seat_release_days,"
    " lease_days, grace_days, fingerprint_min_match, on_clone, allow_virtual_machines, floating_lease_seconds,"
    " borrow_days, expiry_mode, entitlements, meters, transfer_period_days)"
    " VALUES (1, 1, 'Default', true, 'node_locked', 30, 5, 180, 7, 7, 2, 'flag', true, 900, 0, 'perpetual',"
    " '{}', '{}', 365)"
)
MACHINE = "INSERT INTO machines (id, product_id, first_seen) VALUES ('mc_1', 1, '2026-01-01 00:00:00')"
DEVICE = (
    "INSERT INTO devices (id, product_id, machine_id, is_virtual, first_seen, last_seen, seen_day, status,"
    " secret_hash, usage_count, clone_suspected, facts)"
    " VALUES ('dv_1', 1, 'mc_1', false, '2026-01-01 00:00:00', '2026-01-01 00:00:00', '2026-01-01', 'trial',"
    " 'x', 0, false, '{}')"
)
EVENT = (
    "INSERT INTO events (product_id, device_id, kind, client_event_id, received_at, data, client_facts, server_facts)"
    " VALUES (1, 'dv_1', 'usage', :cid, :at, '{}', '{}', '{}')"
)


def _where_rows_live(conn: sa.Connection) -> dict[str, int]:
    rows = conn.execute(sa.text("SELECT tableoid::regclass::text, count(*) FROM events GROUP BY 1")).all()
    return {str(name): int(n) for name, n in rows}


def test_migration_moves_existing_events_into_months_and_back(settings: Any) -> None:
    urls = database_urls(settings.resolved_database_url)
    upgrade(urls, "0005")
    engine = make_sync_engine(urls, pool_size=1)
    received = ["2025-12-31 23:59:59.999999", "2026-01-01 00:00:00", "2026-03-15 12:00:00"]
    try:
        with engine.begin() as conn:
            for statement in (PRODUCT, POLICY, MACHINE, DEVICE):
                conn.execute(sa.text(statement))
            for n, at in enumerate(received):
                conn.execute(sa.text(EVENT), {"cid": f"e{n}", "at": at})
        upgrade(urls, "0010")
        assert current_revision(urls) == "0010"
        with engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                assert partitions.is_partitioned(conn)
                assert _where_rows_live(conn) == {
                    "event_partitions.events_2025_12": 1,
                    "event_partitions.events_2026_01": 1,
                    "event_partitions.events_2026_03": 1,
                }
                # Every month from the oldest event to three months ahead of today exists, and DEFAULT.
                months = [p.month for p in partitions.monthly_partitions(conn)]
                assert months[0] == dt.date(2025, 12, 1) and dt.date(2026, 2, 1) in months
                today = partitions.month_of(dt.datetime.now(UTC))
                assert months[-1] >= partitions.next_month(partitions.next_month(partitions.next_month(today)))
            else:
                assert not partitions.is_partitioned(conn)
            # The moved events keep their ids, and the next id follows them.
            ids = conn.execute(sa.text("SELECT id FROM events ORDER BY id")).scalars().all()
            new = record_events(conn, [_usage("e9", dt.datetime(2026, 3, 16, tzinfo=UTC))])
            assert ids == [1, 2, 3] and new[0]["id"] == 4
            # A re-sent event is still recognised after the move.
            assert record_events(conn, [_usage("e0", dt.datetime(2026, 3, 16, tzinfo=UTC))]) == []
        command.downgrade(alembic_config(urls.sync), "0005")
        with engine.connect() as conn:
            assert not partitions.is_partitioned(conn)
            count = conn.execute(sa.text("SELECT count(*) FROM events")).scalar()
            unique = {c["name"] for c in sa.inspect(conn).get_unique_constraints("events")}
        assert count == 4 and "uq_events_device_id" in unique
        upgrade(urls)  # and up again, with the events of both sides of the round trip
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM events")).scalar() == 4
    finally:
        engine.dispose()


def _usage(client_id: str, at: dt.datetime, device: str = "dv_1") -> dict[str, Any]:
    return event_row(product_id=1, device_id=device, kind="usage", client_event_id=client_id, received_at=at)


@pytest.fixture
def one_device(settings: Any) -> Any:
    urls = database_urls(settings.resolved_database_url)
    upgrade(urls)
    engine = make_sync_engine(urls, pool_size=4)
    with engine.begin() as conn:
        for statement in (PRODUCT, POLICY, MACHINE, DEVICE):
            conn.execute(sa.text(statement))
    yield engine
    engine.dispose()


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_an_event_of_a_month_without_partition_waits_in_default_and_moves_in(one_device: Any) -> None:
    far = dt.datetime(2031, 7, 4, 12, 0, tzinfo=UTC)  # beyond the months made ahead
    with one_device.begin() as conn:
        assert [r["client_event_id"] for r in record_events(conn, [_usage("far", far)])] == ["far"]
        assert _where_rows_live(conn) == {"event_partitions.events_default": 1}
    with one_device.begin() as conn:
        created = partitions.ensure_ahead(conn, dt.datetime.now(UTC))
        assert "events_2031_07" in created
        assert _where_rows_live(conn) == {"event_partitions.events_2031_07": 1}
        # Re-sent after the move: still one copy.
        assert record_events(conn, [_usage("far", far)]) == []
        assert partitions.ensure_ahead(conn, dt.datetime.now(UTC)) == []  # nothing left to do


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_batch_resent_while_the_first_is_in_flight_is_stored_once(one_device: Any) -> None:
    """Two workers given the same batch at once (a client retrying a slow call): one copy, no error."""
    now = dt.datetime.now(UTC)
    batch = [_usage(f"b{n}", now) for n in range(50)]
    results: list[int] = []
    start = threading.Barrier(2)

    def send() -> None:
        with one_device.begin() as conn:
            start.wait()
            results.append(len(record_events(conn, [dict(row) for row in batch])))

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    with one_device.connect() as conn:
        stored = conn.execute(sa.text("SELECT count(*) FROM events")).scalar()
    assert sorted(results) == [0, 50] and stored == 50


def test_event_retention_drops_whole_months_on_postgresql_and_rows_on_sqlite(one_device: Any) -> None:
    now = dt.datetime(2026, 11, 29, 10, 0, tzinfo=UTC)
    times = [dt.datetime(2026, m, d, 12, tzinfo=UTC) for m, d in ((7, 1), (8, 1), (8, 31), (9, 15), (11, 1))]
    with one_device.begin() as conn:
        if conn.dialect.name == "postgresql":
            partitions.ensure_months(conn, dt.date(2026, 7, 1), dt.date(2026, 11, 1))
        record_events(conn, [_usage(f"r{n}", at) for n, at in enumerate(times)])
    dropped = drop_old_events(one_device, now=now, retention_days=90)  # cutoff: 2026-08-31 10:00
    with one_device.connect() as conn:
        left = sorted(str(at)[:10] for at in conn.execute(sa.text("SELECT received_at FROM events")).scalars())
        postgresql = conn.dialect.name == "postgresql"
        months = [p.name for p in partitions.monthly_partitions(conn)] if postgresql else []
    if postgresql:
        # July and August are wholly past the cutoff... August is not: its last day is after it.
        assert dropped.partitions == ["events_2026_07"] and "events_2026_07" not in months
        assert left == ["2026-08-01", "2026-08-31", "2026-09-15", "2026-11-01"]
    else:
        assert dropped.rows == 2 and left == ["2026-08-31", "2026-09-15", "2026-11-01"]
    assert drop_old_events(one_device, now=now, retention_days=0).rows == 0  # 0: kept forever


def test_checks_and_events_through_the_api_land_in_partitions(client: Any, engine: Any, product: Any) -> None:
    device = Installation(client, product.public_key)
    device.check()
    sent = [{"id": "u1", "kind": "usage"}, {"id": "u2", "kind": "usage"}]
    first = device.call("/v1/events", events=sent).json()
    again = device.call("/v1/events", events=sent).json()
    assert first == {"accepted": 2, "duplicates": 0} and again == {"accepted": 0, "duplicates": 2}
    with engine.connect() as conn:
        kinds = sorted(conn.execute(sa.text("SELECT kind FROM events")).scalars())
        if conn.dialect.name == "postgresql":
            assert all(name.startswith("event_partitions.") for name in _where_rows_live(conn))
    assert kinds == ["check", "usage", "usage"]


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_an_event_resent_months_later_is_found_from_when_it_occurred(one_device: Any) -> None:
    """The look-up reads the months from the event's occurrence on: a first copy is never earlier."""
    occurred = dt.datetime(2026, 1, 20, 9, 0, tzinfo=UTC)
    first = event_row(
        product_id=1,
        device_id="dv_1",
        kind="usage",
        client_event_id="late",
        occurred_at=occurred,
        received_at=dt.datetime(2026, 2, 3, tzinfo=UTC),  # uploaded two weeks after, in the next month
    )
    with one_device.begin() as conn:
        partitions.ensure_months(conn, dt.date(2026, 1, 1), dt.date(2026, 6, 1))
        assert len(record_events(conn, [dict(first)])) == 1
    for resent_at in (dt.datetime(2026, 2, 3, 0, 5, tzinfo=UTC), dt.datetime(2026, 5, 30, tzinfo=UTC)):
        with one_device.begin() as conn:
            assert record_events(conn, [{**first, "received_at": resent_at}]) == [], resent_at
    # An application clock a few hours ahead of the server's: its re-sent event is found too.
    ahead = {**first, "client_event_id": "ahead", "occurred_at": dt.datetime(2026, 5, 30, 18, 0, tzinfo=UTC)}
    with one_device.begin() as conn:
        assert len(record_events(conn, [{**ahead, "received_at": dt.datetime(2026, 5, 30, 12, 0, tzinfo=UTC)}])) == 1
    with one_device.begin() as conn:
        assert record_events(conn, [{**ahead, "received_at": dt.datetime(2026, 5, 30, 12, 1, tzinfo=UTC)}]) == []
    # A time long before any partition (an application's bogus clock) is looked up in every month.
    edge = {**first, "client_event_id": "edge", "occurred_at": dt.datetime(1970, 1, 1, tzinfo=UTC)}
    for _ in range(2):
        with one_device.begin() as conn:
            record_events(conn, [{**edge, "received_at": dt.datetime(2026, 5, 30, 13, 0, tzinfo=UTC)}])
    with one_device.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM events")).scalar() == 3


def test_the_servers_own_events_occur_when_recorded(one_device: Any) -> None:
    at = dt.datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
    own = event_row(product_id=1, device_id="dv_1", kind="clone_suspected", received_at=at)
    sent = event_row(product_id=1, device_id="dv_1", kind="usage", client_event_id="c1", received_at=at)
    assert own["occurred_at"] == at and sent["occurred_at"] is None
