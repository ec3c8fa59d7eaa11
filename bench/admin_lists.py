"""What the admin UI's lists cost on a large database, measured in one run.

    python bench/admin_lists.py --database-url postgresql://... [--devices 1000000]
    python bench/admin_lists.py [--devices 100000]          # a SQLite file

Fills an empty database with ``--devices`` installations (one machine each;
a tenth licensed, a fiftieth flagged as copies; last seen over 90 days), then
times the queries behind the device list (first page in each sortable order,
the 200th page, filtered pages, the capped count), the license list, the
dashboard's work queues, and the CSV export's rows per second. Target: every
page answers in well under a second at 1,000,000 installations, and a page
costs about the same at 1,000,000 as at a tenth of that (the ratio printed
last; the count is capped, the offset bounded).
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from licentia.server.admin.dashboard.queues import work_queues
from licentia.server.admin.lists import specs as lists
from licentia.server.admin.lists.listing import DEEP_LIMIT, PER_PAGE, capped_count, listing

NOW = dt.datetime(2026, 11, 29, 12, tzinfo=dt.UTC)


# Indexes the lists would use if a migration added them (none writes on a status check but once a
# day: seen_day changes daily, first_seen and trial_end almost never).
def fill(engine: sa.Engine, count: int, start: int) -> None:
    """``count`` machines and installations, inserted set-wise (PostgreSQL) or in batches (SQLite)."""
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(
                sa.text(
                    "insert into machines (id, product_id, trial_end, first_seen) "
                    "select 'm' || g, 1, :now - (g % 90) * interval '1 day' + interval '30 days', "
                    ":now - (g % 90) * interval '1 day' from generate_series(:a, :b) g"
                ),
                {"now": NOW, "a": start, "b": start + count - 1},
            )
            conn.execute(
                sa.text(
                    "insert into devices (id, product_id, machine_id, first_seen, last_seen, seen_day, status, "
                    "secret_hash, usage_count, clone_suspected, facts, is_virtual, app_version, os_name, license_id, "
                    "activated_at) "
                    "select 'dv_' || g, 1, 'm' || g, :now - (g % 90) * interval '1 day', "
                    ":now - (g % 83) * interval '1 day' - (g % 1440) * interval '1 minute', "
                    "(:now - (g % 83) * interval '1 day' - (g % 1440) * interval '1 minute')::date, "
                    "case when g % 10 = 0 then 'registered' when g % 3 = 0 then 'trial_expired' else 'trial' end, "
                    "md5(g::text), 0, g % 50 = 0, '{}'::jsonb, false, '2.' || (g % 4), 'Windows 11', "
                    "case when g % 10 = 0 then 1 + (g / 10) % 1000 end, case when g % 10 = 0 then :now end "
                    "from generate_series(:a, :b) g"
                ),
                {"now": NOW, "a": start, "b": start + count - 1},
            )
            conn.execute(sa.text("analyze"))
            return
        from licentia.server.store.tables import devices, machines

        for first in range(start, start + count, 20_000):
            ids = range(first, min(first + 20_000, start + count))
            conn.execute(
                machines.insert(),
                [
                    {
                        "id": f"m{g}",
                        "product_id": 1,
                        "trial_end": NOW - dt.timedelta(days=g % 90 - 30),
                        "first_seen": NOW - dt.timedelta(days=g % 90),
                    }
                    for g in ids
                ],
            )
            conn.execute(
                devices.insert(),
                [
                    {
                        "id": f"dv_{g}",
                        "product_id": 1,
                        "machine_id": f"m{g}",
                        "first_seen": NOW - dt.timedelta(days=g % 90),
                        "last_seen": (seen := NOW - dt.timedelta(days=g % 83, minutes=g % 1440)),
                        "seen_day": seen.date(),
                        "status": "registered" if g % 10 == 0 else "trial_expired" if g % 3 == 0 else "trial",
                        "secret_hash": "x",
                        "clone_suspected": g % 50 == 0,
                        "app_version": f"2.{g % 4}",
                        "os_name": "Windows 11",
                        "license_id": 1 + (g // 10) % 1000 if g % 10 == 0 else None,
                        "activated_at": NOW if g % 10 == 0 else None,
                    }
                    for g in ids
                ],
            )


def licenses_for(engine: sa.Engine, fernet: Any) -> None:
    from licentia.server.licenses.service import issue_license
    from licentia.server.products.service import create_product

    with engine.begin() as conn:
        create_product(conn, slug="bench", name="Bench", fernet=fernet, now=NOW)
        for n in range(1000):
            issue_license(conn, product="bench", email=f"b{n}@example.com", now=NOW, max_devices=100)


def timed(engine: sa.Engine, fn: Any, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        with engine.connect() as conn:
            started = time.perf_counter()
            fn(conn)
            times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def measure(engine: sa.Engine) -> dict[str, float]:
    def page(f: lists.DeviceFilter, sort: str = "", direction: str = "", number: int = 1) -> Any:
        spec = lists.device_spec(f, now=NOW)
        return lambda conn: listing(conn, spec, path="/", params={}, sort=sort, direction=direction, page=number)

    everything = lists.DeviceFilter()
    found = {
        "devices, page 1 (last seen)": timed(engine, page(everything)),
        "devices, page 1 (first seen)": timed(engine, page(everything, "first_seen")),
        "devices, page 1 (status)": timed(engine, page(everything, "status")),
        f"devices, page {DEEP_LIMIT // PER_PAGE} (last seen)": timed(engine, page(everything, number=200)),
        "devices, expired trials seen in 7 days": timed(
            engine, page(lists.DeviceFilter(status="trial_expired", seen_days=7))
        ),
        "devices, suspected copies": timed(engine, page(lists.DeviceFilter(flag="copies"))),
        "devices, one product": timed(engine, page(lists.DeviceFilter(product=1))),
        "count alone (capped)": timed(engine, lambda c: capped_count(c, lists.device_spec(everything, now=NOW).query)),
        "licenses, page 1": timed(
            engine,
            lambda c: listing(c, lists.license_spec(lists.LicenseFilter(), now=NOW), path="/", params={}),
        ),
        "licenses at their seat limit": timed(
            engine,
            lambda c: listing(c, lists.license_spec(lists.LicenseFilter(full=True), now=NOW), path="/", params={}),
        ),
        "dashboard work queues": timed(engine, lambda c: work_queues(c, product_id=1, now=NOW)),
    }
    spec = lists.device_spec(everything, now=NOW)
    with engine.connect() as conn:
        started, rows, after = time.perf_counter(), 0, None
        while rows < 20_000:
            query = spec.query.order_by(spec.key).limit(2000)
            batch = conn.execute(query if after is None else query.where(spec.key > after)).all()
            rows += len(batch)
            if len(batch) < 2000:
                break
            after = batch[-1].id
        found["export, ms per 1,000 rows"] = (time.perf_counter() - started) * 1000 / (rows / 1000)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", default="")
    parser.add_argument("--devices", type=int, default=100_000)
    args = parser.parse_args()
    from licentia.server.settings import Settings
    from licentia.server.store.engine import database_urls, make_sync_engine, upgrade

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp), database_url=args.database_url or None)
        urls = database_urls(settings.resolved_database_url)
        upgrade(urls)
        engine = make_sync_engine(urls)
        licenses_for(engine, settings.fernet())
        tenth = args.devices // 10
        fill(engine, tenth, 1)
        small = measure(engine)
        fill(engine, args.devices - tenth, tenth + 1)
        large = measure(engine)
        print(f"{engine.dialect.name}, {tenth:,} then {args.devices:,} installations (median of 3, ms)")
        print(f"{'query':48} {tenth:>12,} {args.devices:>12,}  ratio")
        for name, value in large.items():
            print(f"{name:48} {small[name]:12.1f} {value:12.1f}  {value / small[name]:5.1f}")
        engine.dispose()


if __name__ == "__main__":
    main()
