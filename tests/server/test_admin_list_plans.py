"""The admin lists read an index, not every installation (migration 0013).

At 1,000,000 installations a first page sorted by a column without an index
reads and sorts every row (1.4-1.6 s in bench/admin_lists.py); with one, it
reads fifty. The plan is checked on SQLite, whose planner uses an index on an
empty table as it would on a full one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest

from licentia.server.admin.lists.listing import listing
from licentia.server.admin.lists.specs import DeviceFilter, device_spec
from tests.server.helpers import sqlite_plan


@pytest.mark.parametrize(
    ("sort", "index"),
    [("last_seen", "ix_devices_seen_day"), ("first_seen", "ix_devices_first_seen")],
)
@pytest.mark.parametrize("direction", ["desc", "asc"])
def test_a_first_page_in_each_order_reads_its_index(engine: Any, sort: str, index: str, direction: str) -> None:
    if engine.dialect.name != "sqlite":
        pytest.skip("the plan is checked on SQLite; PostgreSQL's planner scans tables this small")
    spec = device_spec(DeviceFilter(), now=dt.datetime(2026, 11, 29, tzinfo=dt.UTC))

    def first_page() -> None:
        with engine.connect() as conn:
            listing(conn, spec, sort=sort, direction=direction, page=1, path="/admin/devices", params={})

    plan = sqlite_plan(engine, first_page, lambda statement: "ORDER BY" in statement)
    assert index in plan, plan
    assert "TEMP B-TREE FOR ORDER BY" not in plan, plan


def _queue_plan(engine: Any, product: Any, chosen: Callable[[str], bool]) -> str:
    """SQLite's plan of the dashboard's work-queue statement that ``chosen`` picks."""
    from licentia.server.admin.dashboard.queues import work_queues

    def queues() -> None:
        with engine.connect() as conn:
            work_queues(conn, product_id=product.id, now=dt.datetime(2026, 11, 29, tzinfo=dt.UTC))

    return sqlite_plan(engine, queues, chosen)


@pytest.mark.parametrize(
    ("statement", "index", "not_in_plan"),
    [
        # The trials ending soon, by the machines' trial end.
        pytest.param("machines.trial_end >=", "ix_machines_product_trial_end", "SCAN machines", id="trials-ending"),
        # Only the product's expired trials, newest day first (migration 0024), not all seen today.
        pytest.param(
            "devices.status = ", "ix_devices_product_status_seen_day", "SCAN devices", id="expired-trial-leads"
        ),
        # The first licenses to end, from an index on the expiry (migration 0024), in its order.
        pytest.param(
            "licenses.expires_at >= ", "ix_licenses_product_expires", "TEMP B-TREE FOR ORDER BY", id="expiring-licenses"
        ),
    ],
)
def test_each_dashboard_queue_reads_its_index(
    engine: Any, product: Any, statement: str, index: str, not_in_plan: str
) -> None:
    if engine.dialect.name != "sqlite":
        pytest.skip("the plan is checked on SQLite; PostgreSQL's planner scans tables this small")
    plan = _queue_plan(engine, product, lambda s: statement in s and "LIMIT" in s)
    assert index in plan, plan
    assert not_in_plan not in plan, plan
