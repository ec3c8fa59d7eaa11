"""Licentia with a large history on PostgreSQL: every figure of the scale targets, in one run.

    python bench/scale.py                                              # reduced (CI): 100,000 / 1,000,000
    python bench/scale.py --installations 1000000 --events 10000000    # the full size

Fills two databases inside PostgreSQL (``INSERT ... SELECT`` over
``generate_series``, bench/scale_fill.py): a baseline of 10,000 installations
and a large one (``--installations``, ``--events``), both shaped alike (a year
of history, one event partition a month, a license with 100,000 events in the
large one). Then measures:

- the status check's p99 on the large database against the baseline, each
  served by a real ``licentia serve`` and driven by wrk at the same paced rate,
  in alternating rounds (median of the per-round ratios; bound < 1.5). The
  servers run without the minute's rollups, as the sizing guide deploys them at
  this size (``--rollups-in-checking-servers`` keeps them in);
- the admin dashboard's queries (GET /admin: headline counts from the minute's rollups, 30/90-day charts,
  work queues; < 1 s, a PASS/FAIL line), and beside them the same page with its headline counts counted
  live over every installation, as it was before;
- the rollups: a full recompute of the dashboard's 30 days, the incremental run
  the server makes every minute, and closing one day;
- an evidence report for the license with 100,000 events (< 2 s);
- event ingestion through the server's idempotent write path against a raw
  COPY of the same rows (events per second, and their ratio);
- database size per million events.

``--skip`` leaves stages out (the checks' p99, the 30 days recomputed in full and the day closed, the
evidence report, ingestion): at ten million installations, to measure the dashboard
and the minute's rollups in the time a shared machine gives.

PostgreSQL comes from ``--database-url`` (a server URL; the bench creates and
drops its own databases there), else ``LICENTIA_BENCH_POSTGRES_URL``, else a
throwaway server started from Debian's packages. ``--json FILE`` writes the
figures for tests/server/scale/test_scale_bench.py.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import psycopg
import sqlalchemy as sa
from cryptography.fernet import Fernet
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parent))
from check_throughput import LUA_REQUESTS, Postgres, Server, run_wrk
from scale_fill import BASELINE, EVIDENCE_LICENSE, Fill, copy_events, fill

BOUNDS = {"p99_ratio": 1.5, "dashboard_s": 1.0, "evidence_s": 2.0}
SKIPPABLE = ("checks", "full-rollups", "evidence", "ingestion")
# Days of rollups computed in full for the dashboard (its default period); the 90-day view reads what exists.
FULL_DAYS = 30


def database_url(server: str, name: str) -> str:
    return make_url(server).set(drivername="postgresql", database=name).render_as_string(hide_password=False)


def _admin(server: str, statement: str) -> None:
    dsn = make_url(server).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(statement)  # type: ignore[arg-type]


def timed(fn: Any, *args: Any, **kwargs: Any) -> tuple[float, Any]:
    start = time.perf_counter()
    result = fn(*args, **kwargs)
    return time.perf_counter() - start, result


def check_p99(small: Fill, large: Fill, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    """Paced checks against both databases, alternating; p99 of each and the median ratio."""
    for name in ("small", "large"):
        (workdir / name).mkdir()
    # The checking servers run as docs/operations.md ("Sizing") says for a million installations: the
    # minute's rollups in another process (their cost is measured below, on their own), not in the
    # processes that answer checks. ``--rollups-in-checking-servers`` keeps them there.
    saved = os.environ.get("LICENTIA_ROLLUP_INTERVAL_SECONDS")
    if not args.rollups_in_checking_servers:
        os.environ["LICENTIA_ROLLUP_INTERVAL_SECONDS"] = "0"
    try:
        servers = {name: Server(workdir / name, f.url, 1) for name, f in (("small", small), ("large", large))}
    finally:
        if saved is None:
            os.environ.pop("LICENTIA_ROLLUP_INTERVAL_SECONDS", None)
        else:
            os.environ["LICENTIA_ROLLUP_INTERVAL_SECONDS"] = saved
    try:
        scripts = {}
        for name, f in (("small", small), ("large", large)):
            data = workdir / f"{name}.tsv"
            data.write_text("".join(f"{auth}\t{body}\n" for auth, body in f.check_requests(args.check_devices)))
            interval = max(1, round(args.connections * 1000 / args.rate))
            scripts[name] = LUA_REQUESTS % {
                "data": data,
                "path": "/v1/check",
                "delay": f"function delay() return {interval} end",
            }
        for name in servers:  # warm-up: caches, prepared statements, the day's first check events
            run_wrk(servers[name].url + "/v1/check", scripts[name], workdir, 3, args.connections)
        runs: dict[str, list[dict[str, float]]] = {"small": [], "large": []}
        for _ in range(args.rounds):
            for name in ("small", "large"):
                runs[name].append(
                    run_wrk(servers[name].url + "/v1/check", scripts[name], workdir, args.duration, args.connections)
                )
    finally:
        for server in servers.values():
            try:
                server.stop()
            except subprocess.TimeoutExpired:
                server.proc.kill()
                server.proc.wait()
    # A round where either side completed nothing (wrk counts answers slower than 2 s as timeouts,
    # and prints no latency) has no ratio.
    ratios = [b["p99"] / a["p99"] for a, b in zip(runs["small"], runs["large"], strict=True) if a["p99"] and b["p99"]]
    errors = sum(r["errors"] for rs in runs.values() for r in rs)
    return {
        "p99_small_ms": statistics.median(r["p99"] for r in runs["small"]),
        "p99_large_ms": statistics.median(r["p99"] for r in runs["large"]),
        "p50_small_ms": statistics.median(r["p50"] for r in runs["small"]),
        "p50_large_ms": statistics.median(r["p50"] for r in runs["large"]),
        "rps_large": statistics.median(r["rps"] for r in runs["large"]),
        "p99_ratio": statistics.median(ratios) if ratios else float("inf"),
        "p99_ratios": ratios,
        "p99_runs_ms": {name: [r["p99"] for r in rs] for name, rs in runs.items()},
        "errors": errors,
    }


def dashboard_queries(engine: sa.Engine, product_id: int, now: dt.datetime) -> dict[str, float]:
    """GET /admin's queries, and the same page with its headline counts counted live (as it was before)."""
    from licentia.server.admin.dashboard.figures import cohort, dashboard
    from licentia.server.admin.dashboard.queues import first_run, work_queues
    from licentia.server.admin.service import all_products, counts
    from licentia.server.rollups.headline import statuses

    today = now.date()

    def best(fn: Any) -> float:
        return min(timed(fn)[0] for _ in range(3))  # best of three: the pages are read again and again

    found = {}
    with engine.connect() as conn:
        for days in (30, 90):
            # What GET /admin runs (admin/dashboard/pages.py): the headline counts from the minute's rollups.
            found[f"dashboard_{days}d_s"] = best(
                lambda d=days: (
                    all_products(conn),
                    first_run(conn, product_id=product_id),
                    statuses(conn, product_id=product_id, today=today),
                    dashboard(conn, product_id=product_id, today=today, days=d),
                    work_queues(conn, product_id=product_id, now=now),
                )
            )
        found["dashboard_queues_s"] = best(lambda: work_queues(conn, product_id=product_id, now=now))
        # Before: the page counted its headline figures over every installation (30 days' cohort).
        first = today - dt.timedelta(days=29)
        found["live_headline_s"] = best(
            lambda: (counts(conn, product_id, now), cohort(conn, product_id=product_id, first=first, today=today))
        )
    found["dashboard_s"] = max(found["dashboard_30d_s"], found["dashboard_90d_s"])
    found["dashboard_live_30d_s"] = found["dashboard_30d_s"] + found["live_headline_s"]
    return found


def rollup_figures(engine: sa.Engine, now: dt.datetime, *, full_recompute: bool = True) -> dict[str, float]:
    from licentia.server.rollups.incremental import refresh_incremental
    from licentia.server.rollups.service import compute_days, days_between, refresh, replace_days

    today = now.date()
    found = {}
    if full_recompute:
        with engine.begin() as conn:
            full, _ = timed(refresh, conn, days_between(today - dt.timedelta(days=FULL_DAYS - 1), today))
        found["rollup_full_s"] = full
    with engine.begin() as conn:
        refresh_incremental(conn, now=now)  # the first run sets the watermark
    with engine.begin() as conn:
        minute, plan = timed(refresh_incremental, conn, now=now)
    yesterday = today - dt.timedelta(days=1)
    if full_recompute:  # closing a day recomputes it in full too
        with engine.begin() as conn:
            closing, _ = timed(lambda: replace_days(conn, [yesterday], compute_days(conn, [yesterday])))
        found["rollup_close_day_s"] = closing
    return {
        **found,
        "rollup_minute_s": minute,
        "rollup_minute_days": len(plan.days),
    }


def evidence_figures(engine: sa.Engine, now: dt.datetime) -> dict[str, Any]:
    from licentia.server.evidence.report import build_document
    from licentia.server.evidence.subjects import license_subject

    with engine.connect() as conn:
        cpu = time.process_time()
        seconds, subject = timed(lambda: build_document(license_subject(conn, str(EVIDENCE_LICENSE)), now=now))
        cpu = time.process_time() - cpu
        total = conn.execute(
            sa.text("SELECT count(*) FROM events WHERE license_id = :id"), {"id": EVIDENCE_LICENSE}
        ).scalar_one()
    return {
        "evidence_s": seconds,
        "evidence_python_cpu_s": cpu,
        "evidence_license_events": int(total),
        "evidence_rows": len(subject["events"]),
    }


def ingestion_figures(large: Fill, engine: sa.Engine, count: int, now: dt.datetime) -> dict[str, float]:
    """The idempotent write path against COPY of the same rows.

    As the server writes them: each POST /v1/events carries one installation's
    events (10 here), and the group-commit writer commits 20 such calls at once.
    """
    from licentia.server.events.service import event_row, record_events

    rows = large.new_events(count, now)
    rows.sort(key=lambda r: r["device_id"])
    batches = [rows[i : i + 200] for i in range(0, len(rows), 200)]

    def through_the_server() -> None:
        for batch in batches:
            with engine.begin() as conn:
                record_events(conn, [event_row(**r) for r in batch])

    written, _ = timed(through_the_server)
    for row in rows:  # the same rows again, under other ids: COPY would not see duplicates
        row["client_event_id"] += "-copy"
    copied, _ = timed(copy_events, large.url, rows)
    return {
        "ingest_service_per_s": count / written,
        "ingest_copy_per_s": count / copied,
        "ingest_ratio": copied / written,
    }


def size_figures(url: str) -> dict[str, float]:
    with psycopg.connect(url) as conn:
        events_bytes, events = conn.execute(
            "SELECT (SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_inherits i"
            " JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'events'::regclass),"
            " (SELECT count(*) FROM events)"
        ).fetchone()  # type: ignore[misc]
        database = conn.execute("SELECT pg_database_size(current_database())").fetchone()[0]  # type: ignore[index]
        partitions = conn.execute("SELECT count(*) FROM pg_inherits WHERE inhparent = 'events'::regclass").fetchone()[0]  # type: ignore[index]
    return {
        "events_mb_per_million": float(events_bytes) / 1e6 / (events / 1e6),
        "database_mb": float(database) / 1e6,
        "event_partitions": partitions,
    }


def machine_load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.1f} (1 min), {five:.1f} (5 min) on {os.cpu_count()} cores"


def report(figures: dict[str, Any], args: argparse.Namespace) -> None:
    ok = {key: figures[key] < bound for key, bound in BOUNDS.items() if key in figures}

    def verdict(key: str) -> str:
        return f"{'pass' if ok[key] else 'FAIL'} (bound < {BOUNDS[key]})"

    f = figures
    print(f"\n{args.installations:,} installations, {f['events']:,} events ({machine_load()} at the end)")
    print(f"  fill: {f['fill_s']:.0f} s ({args.installations / f['fill_s']:,.0f} installations/s)", end="")
    print(f", vacuum, analyze and checkpoint {f['analyze_s']:.0f} s")
    if "p99_ratio" in f:
        print(
            f"  check p99 at {args.rate} req/s: {f['p99_small_ms']:.1f} ms with {BASELINE:,} installations,"
            f" {f['p99_large_ms']:.1f} ms with {args.installations:,};"
            f" ratio {f['p99_ratio']:.2f} {verdict('p99_ratio')}"
            f" (rounds: {', '.join(f'{r:.2f}' for r in f['p99_ratios'])};"
            f" p50 {f['p50_small_ms']:.1f} / {f['p50_large_ms']:.1f} ms; {f['errors']} errors)"
        )
    print(
        f"  dashboard (GET /admin's queries, headline counts from the minute's rollups):"
        f" {f['dashboard_30d_s'] * 1000:.0f} ms (30 days), {f['dashboard_90d_s'] * 1000:.0f} ms (90 days);"
        f" the work queues alone {f['dashboard_queues_s'] * 1000:.0f} ms; with the headline counts counted live"
        f" (before) {f['dashboard_live_30d_s'] * 1000:.0f} ms (30 days)"
    )
    print(
        f"  {'PASS' if ok['dashboard_s'] else 'FAIL'}: dashboard under {BOUNDS['dashboard_s']:.0f} s at"
        f" {args.installations:,} installations ({f['dashboard_s'] * 1000:.0f} ms, {machine_load()})"
    )
    full = f"full recompute of {FULL_DAYS} days {f['rollup_full_s']:.1f} s; " if "rollup_full_s" in f else ""
    closing = f"; closing one day {f['rollup_close_day_s'] * 1000:.0f} ms" if "rollup_close_day_s" in f else ""
    print(
        f"  rollups: {full}the minute's incremental run"
        f" {f['rollup_minute_s'] * 1000:.0f} ms ({f['rollup_minute_days']} days){closing}"
    )
    if "evidence_s" in f:
        print(
            f"  evidence report, license with {f['evidence_license_events']:,} events:"
            f" {f['evidence_s'] * 1000:.0f} ms ({f['evidence_rows']:,} events in the report;"
            f" {f['evidence_python_cpu_s'] * 1000:.0f} ms of it Python CPU)"
            f" {verdict('evidence_s')}"
        )
    if "ingest_ratio" in f:
        print(
            f"  ingestion: {f['ingest_service_per_s']:,.0f} events/s through the idempotent write path,"
            f" {f['ingest_copy_per_s']:,.0f} by raw COPY (ratio {f['ingest_ratio']:.2f})"
        )
    print(
        f"  size: {f['events_mb_per_million']:.0f} MB per million events (tables and indexes),"
        f" database {f['database_mb']:,.0f} MB, {f['event_partitions']} event partitions"
    )
    figures["passed"] = all(ok.values())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--installations", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--database-url", default=os.environ.get("LICENTIA_BENCH_POSTGRES_URL"))
    parser.add_argument("--rate", type=int, default=100, help="paced checks per second")
    parser.add_argument("--check-devices", type=int, default=5_000, help="installations the checks cycle through")
    parser.add_argument(
        "--duration",
        type=int,
        default=15,
        help="seconds per wrk run (1,500 checks at 100/s: a p99 of more than a handful)",
    )
    parser.add_argument("--rounds", type=int, default=3, help="alternating baseline/large pairs")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument(
        "--rollups-in-checking-servers",
        action="store_true",
        help="run the minute's rollups in the servers whose checks are measured (the sizing guide moves them out)",
    )
    parser.add_argument(
        "--skip",
        action="append",
        default=[],
        choices=SKIPPABLE,
        help="leave a stage out (repeatable), e.g. to measure the dashboard alone at ten million installations"
        " in less time: the fill, the minute's rollups, the dashboard and the sizes always run",
    )
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        print("wrk is missing: apt-get install wrk", file=sys.stderr)
        return 2
    # A SIGTERM (a test's time-out) ends through the ``finally`` below: the servers stop, the databases go.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    pg = None if args.database_url else Postgres().start()
    server = args.database_url or (pg.url if pg else "")
    names = [f"scale_{uuid.uuid4().hex[:8]}_{n}" for n in ("small", "large")]
    os.environ["LICENTIA_SECRET_KEY"] = Fernet.generate_key().decode()  # the servers share the products' keys
    # The filled events carry documentation addresses (198.51.100.0/24) that no reverse lookup answers.
    os.environ["LICENTIA_REVERSE_DNS"] = "false"
    workdir = Path(tempfile.mkdtemp(prefix="licentia-scale."))
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    try:
        for name in names:
            _admin(server, f'CREATE DATABASE "{name}"')
        small = fill(database_url(server, names[0]), BASELINE, args.events * BASELINE // args.installations, now)
        large = fill(database_url(server, names[1]), args.installations, args.events, now)
        figures: dict[str, Any] = {"events": large.events, **large.timings}
        engine = large.engine()
        try:
            if "checks" not in args.skip:
                figures.update(check_p99(small, large, args, workdir))
            figures.update(rollup_figures(engine, now, full_recompute="full-rollups" not in args.skip))
            figures.update(dashboard_queries(engine, large.product_id, now))
            if "evidence" not in args.skip:
                figures.update(evidence_figures(engine, now))
            if "ingestion" not in args.skip:
                figures.update(ingestion_figures(large, engine, max(10_000, args.events // 50), now))
            figures.update(size_figures(large.url))
        finally:
            engine.dispose()
        report(figures, args)
        figures["load"] = machine_load()
        if args.json:
            args.json.write_text(json.dumps(figures, indent=2))
        return 0 if figures["passed"] else 1
    finally:
        for name in names:
            _admin(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if pg:
            pg.stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
