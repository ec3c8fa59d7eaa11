"""The dashboard's headline figures come from the minute's rollups and what came after its run, and say what
live counts of everything say: before any run, between runs, across midnight before today's first run, and
after it; a product in test mode counts nothing. Both databases.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
import sqlalchemy as sa

from licentia.server.admin.dashboard.figures import cohort, dashboard
from licentia.server.admin.dashboard.queues import work_queues
from licentia.server.admin.service import counts
from licentia.server.auth.tokens import create_token
from licentia.server.devices.changes import set_device_status
from licentia.server.licenses.seats import full_licenses
from licentia.server.licenses.service import issue_license
from licentia.server.products.service import create_product
from licentia.server.products.test_mode import set_test_mode
from licentia.server.rollups.headline import daily, since_rollups, statuses
from licentia.server.rollups.incremental import refresh_incremental
from licentia.server.rollups.live import AS_OF
from licentia.server.rollups.service import compute_days, days_between, refresh
from licentia.server.store.tables import devices, rollups, test_posts
from tests.server.admin_fixtures import make_admin, sign_in
from tests.server.helpers import Installation

DAYS = 7
HEADLINE = ("devices", "trial", "registered", "blocked")
KINDS = ("check", "uninstall", "feedback", "usage", "reinstall")


def _recount(conn: Any, product_id: int, first: dt.date, today: dt.date) -> dict[tuple[str, str], list[int]]:
    """A full recompute of the period now (written nowhere): what counting everything says, per day."""
    days = days_between(first, today)
    found: dict[tuple[str, str], list[int]] = {}
    for row in compute_days(conn, days):
        if row["product_id"] == product_id:
            values = found.setdefault((row["metric"], row["dimension"]), [0] * len(days))
            values[days.index(row["day"])] = row["value"]
    return found


def _agree(conn: Any, product_id: int, now: dt.datetime) -> dict[str, Any]:
    """The figures the dashboard shows equal the live counts; returns the board."""
    today = now.date()
    first = today - dt.timedelta(days=DAYS - 1)
    live = counts(conn, product_id, now)
    shown = statuses(conn, product_id=product_id, today=today)
    assert {k: shown[k] for k in HEADLINE} == {k: live[k] for k in HEADLINE}

    recount = _recount(conn, product_id, first, today)
    since = since_rollups(conn, product_id=product_id, first=first, today=today)
    for metric, dimension in [("new_devices", ""), ("conversions", "")] + [("events", kind) for kind in KINDS]:
        found = daily(conn, since, product_id=product_id, metric=metric, first=first, last=today, dimension=dimension)
        assert [v for _, v in found] == recount.get((metric, dimension), [0] * DAYS), (metric, dimension)

    board = dashboard(conn, product_id=product_id, today=today, days=DAYS)
    assert board["new_total"] == sum(recount.get(("new_devices", ""), []))
    assert board["converted_total"] == sum(recount.get(("conversions", ""), []))
    assert board["uninstalls"] == sum(recount.get(("events", "uninstall"), []))
    assert board["feedback"] == sum(recount.get(("events", "feedback"), []))
    counted = cohort(conn, product_id=product_id, first=first, today=today)  # every member counted
    assert (board["cohort"]["size"], board["cohort"]["converted"]) == (counted["size"], counted["converted"])
    return board


def _tile(page: str, name: str) -> int:
    found = re.search(rf'id="tile-{name}"><b>([\d,]+)</b>', page)
    assert found, name
    return int(found.group(1).replace(",", ""))


def _one_seat_keys(engine: Any, clock: Any) -> list[str]:
    """Two licenses of one seat each: both are full once activated (the seat-limit work queue)."""
    with engine.begin() as conn:
        return [
            issue_license(conn, product="acme", email=f"b{n}@example.com", now=clock.now(), max_devices=1).key
            for n in (1, 2)
        ]


def _checked_in(client: Any, product: Any, count: int) -> list[Installation]:
    """``count`` installations on their own machines, each checked in once at version 1.0."""
    fleet = [Installation(client, product.public_key, machine=f"m{n}", disk=f"d{n}", mac=f"n{n}") for n in range(count)]
    for app in fleet:
        app.check(app_version="1.0")
    return fleet


@pytest.fixture
def lab(engine: Any, migrated: Any, clock: Any) -> Any:
    """A second product, in test mode: its posts are kept apart and counted nowhere."""
    with engine.begin() as conn:
        made = create_product(conn, slug="lab", name="Lab", fernet=migrated.fernet(), now=clock.now())
        set_test_mode(conn, product_id=made.id, on=True, email="dev@acme.example", actor="t", now=clock.now())
    return made


def test_a_recompute_of_today_leaves_the_dashboard_counting_what_comes_after(
    client: Any, engine: Any, clock: Any, product: Any
) -> None:
    """``licentia rollup`` and ``licentia demo`` recompute today as well: it is not taken for done.

    The page shows what happens after them at once, not from the minute's next run.
    """
    keys = _one_seat_keys(engine, clock)
    early = _checked_in(client, product, 3)
    early[0].check("/v1/activate", key=keys[0])
    with engine.begin() as conn:
        today = clock.now().date()
        refresh(conn, days_between(today - dt.timedelta(days=DAYS - 1), today), now=clock.now())
        _agree(conn, product.id, clock.now())

    clock.advance(minutes=5)
    late = Installation(client, product.public_key, machine="late", disk="late", mac="late")
    late.check(app_version="1.1")
    late.check("/v1/activate", key=keys[1])
    early[1].call("/v1/events", events=[{"id": "u1", "kind": "uninstall"}])
    with engine.begin() as conn:
        board = _agree(conn, product.id, clock.now())
        assert (board["new_total"], board["converted_total"], board["uninstalls"]) == (4, 2, 1)
        assert statuses(conn, product_id=product.id, today=clock.now().date())["registered"] == 2


def test_headline_figures_from_the_minutes_rollups_equal_live_counts_between_runs_and_across_midnight(
    client: Any, engine: Any, clock: Any, product: Any, lab: Any
) -> None:
    keys = _one_seat_keys(engine, clock)
    fleet = _checked_in(client, product, 5)
    fleet[0].check("/v1/activate", key=keys[0])
    fleet[1].call("/v1/events", events=[{"id": "f1", "kind": "feedback"}])
    with engine.begin() as conn:
        set_device_status(conn, device_id=fleet[2].device_id, status="blocked", actor="t", now=clock.now(), reason="x")
        _agree(conn, product.id, clock.now())  # before any run: the period counted live
    clock.advance(days=1)
    for app in fleet[3:]:
        app.check(app_version="1.1")

    # The minute's run late in the evening, then more of everything before midnight.
    clock.advance(hours=23 - clock.now().hour, minutes=40 - clock.now().minute)
    with engine.begin() as conn:
        refresh_incremental(conn, now=clock.now())
        _agree(conn, product.id, clock.now())
    clock.advance(minutes=5)
    late = Installation(client, product.public_key, machine="late", disk="late", mac="late")
    late.check(app_version="1.1")
    late.check("/v1/activate", key=keys[1])
    Installation(client, product.public_key, machine="m4", disk="d4", mac="n4").check()  # m4 formatted: a reinstall
    fleet[3].call("/v1/events", events=[{"id": "u1", "kind": "uninstall"}])
    tried = Installation(client, lab.public_key, product="lab")
    assert client.post("/v1/check", json=tried.body(app_version="1.0")).status_code == 200
    with engine.begin() as conn:
        board = _agree(conn, product.id, clock.now())
        assert board["new_total"] == 6 and board["uninstalls"] == 1 and board["converted_total"] == 2
        assert statuses(conn, product_id=product.id, today=clock.now().date())["registered"] == 2
        # The test-mode post reached its own table only: the lab has nothing to count, either way.
        assert conn.execute(sa.select(sa.func.count()).select_from(test_posts)).scalar_one() == 1
        assert conn.execute(sa.select(sa.func.count()).where(devices.c.product_id == lab.id)).scalar_one() == 0
        assert statuses(conn, product_id=lab.id, today=clock.now().date())["devices"] == 0
        _agree(conn, lab.id, clock.now())

    # Past midnight, before today's first run: yesterday's rows stop at their cut-off, the rest is counted.
    clock.advance(minutes=30)
    Installation(client, product.public_key, machine="night", disk="night", mac="night").check()
    fleet[4].call("/v1/events", events=[{"id": "u2", "kind": "uninstall"}, {"id": "f2", "kind": "feedback"}])
    with engine.begin() as conn:
        latest = conn.execute(sa.select(sa.func.max(rollups.c.day)).where(rollups.c.metric == AS_OF)).scalar()
        assert latest == clock.now().date() - dt.timedelta(days=1)
        board = _agree(conn, product.id, clock.now())
        assert board["new_total"] == 7 and board["uninstalls"] == 2
    with engine.begin() as conn:
        refresh_incremental(conn, now=clock.now())
        _agree(conn, product.id, clock.now())
        # The seat-limit queue from the minute's run: the licenses a live count finds, newest first.
        rows, total = work_queues(conn, product_id=product.id, now=clock.now())["full"]
        live_full = [row.id for row in conn.execute(full_licenses(product.id))]
        assert [row.id for row in rows] == live_full and total == "2" and len(live_full) == 2

    # The page shows the same tiles, and the developer API the same piracy ratio.
    make_admin(engine, clock)
    sign_in(client)
    page = client.get("/admin", params={"product": product.id, "days": DAYS}).text
    with engine.begin() as conn:
        live = counts(conn, product.id, clock.now())
        board = dashboard(conn, product_id=product.id, today=clock.now().date(), days=DAYS)
        token = create_token(conn, name="bi", scopes=["read"], now=clock.now(), created_by="test").token
    assert (_tile(page, "registered"), _tile(page, "trial"), _tile(page, "new")) == (
        live["registered"],
        live["trial"],
        board["new_total"],
    )
    answer = client.get(
        "/v1/admin/products/acme/piracy-ratio", params={"days": DAYS}, headers={"Authorization": f"Bearer {token}"}
    ).json()
    today = answer["days"][-1]
    assert {k: today[k] for k in ("licenses_sold", "unlicensed_active", "copies_active")} == {
        k: board["ratio"][k] for k in ("licenses_sold", "unlicensed_active", "copies_active")
    }
