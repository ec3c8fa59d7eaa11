"""Filling a PostgreSQL database for bench/scale.py with COPY: installations, machines, licenses, a year of events.

Rows are shaped like the server's own (the same hashes, credentials and JSON),
so a real ``licentia serve`` answers checks for them: installation ``i`` has
the secret ``secret-i`` and hardware components derived from ``i``. The
events are spread over the 365 days before ``now`` (so over 13 monthly
partitions), mostly daily ``check`` events, and license 1 holds
:data:`EVIDENCE_EVENTS` of them across its 50 installations.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import psycopg
import sqlalchemy as sa

BASELINE = 10_000
EVIDENCE_LICENSE = 1
EVIDENCE_EVENTS = 100_000
EVIDENCE_DEVICES = 50
DAYS = 365
CHUNK = 50_000
VERSIONS = ("1.0.0", "1.1.0", "1.2.0", "2.0.0")
SYSTEMS = ("Windows 11", "Windows 10", "macOS 14", "Ubuntu 24.04")
# Kinds in the proportions a fleet sends them: a check a day, usage reports, the rest rare.
KINDS = ("check",) * 85 + ("usage",) * 8 + ("install",) * 3 + ("upgrade",) * 2 + ("register", "uninstall")
EVENT_COLUMNS = (
    "product_id, device_id, license_id, kind, client_event_id, occurred_at, received_at, data, client_facts,"
    " server_facts"
)


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def device_id(i: int) -> str:
    return f"dv{i:030d}"


def components(i: int) -> dict[str, str]:
    return {name: sha(f"{name}-{i}") for name in ("machine", "disk", "cpu", "mac")}


def _ts(value: dt.datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S")


@dataclass
class Fill:
    url: str
    installations: int
    events: int
    product_id: int
    now: dt.datetime
    timings: dict[str, float] = field(default_factory=dict)

    def engine(self) -> sa.Engine:
        from licentia.server.store.engine import database_urls, make_sync_engine

        return make_sync_engine(database_urls(self.url), pool_size=2)

    def check_requests(self, count: int) -> list[tuple[str, str]]:
        """(Authorization, body) of ``count`` installations spread over the whole table."""
        step = max(1, self.installations // count)
        found = []
        for i in range(0, self.installations, step)[:count]:
            body = {
                "product": "my-app",
                "fingerprint": {"components": components(i), "data_path": sha(f"path-{i}")},
                "app_version": VERSIONS[i % len(VERSIONS)],
                "os": SYSTEMS[i % len(SYSTEMS)],
            }
            found.append((f"Device {device_id(i)}:secret-{i}", json.dumps(body)))
        return found

    def new_events(self, count: int, now: dt.datetime) -> list[dict[str, Any]]:
        rng = random.Random(11)
        rows = []
        i = 0
        for n in range(count):
            if n % 10 == 0:  # ten events an installation, as a client's queue sends them
                i = rng.randrange(self.installations)
            rows.append(
                {
                    "product_id": self.product_id,
                    "device_id": device_id(i),
                    "license_id": None,
                    "kind": "usage",
                    "client_event_id": f"ingest-{n}",
                    "occurred_at": None,
                    "received_at": now,
                    "data": {"minutes": n % 600},
                    "client_facts": {},
                    "server_facts": {"external_ip": f"203.0.113.{i % 250}", "server_tz": "UTC"},
                }
            )
        return rows


def _copy(conn: psycopg.Connection[Any], statement: str, lines: Iterator[str]) -> None:
    with conn.cursor() as cur, cur.copy(statement) as copy:  # type: ignore[arg-type]
        block: list[str] = []
        for line in lines:
            block.append(line)
            if len(block) >= CHUNK:
                copy.write("".join(block))
                block = []
        if block:
            copy.write("".join(block))


def copy_events(url: str, rows: list[dict[str, Any]]) -> None:
    """COPY ``rows`` (dicts as ``new_events`` makes them) into events, as fast as PostgreSQL takes them."""

    def lines() -> Iterator[str]:
        for r in rows:
            yield (
                f"{r['product_id']}\t{r['device_id']}\t\\N\t{r['kind']}\t{r['client_event_id']}\t\\N\t"
                f"{_ts(r['received_at'])}\t{json.dumps(r['data'])}\t{{}}\t{json.dumps(r['server_facts'])}\n"
            )

    with psycopg.connect(url) as conn:
        _copy(conn, f"COPY events ({EVENT_COLUMNS}) FROM STDIN", lines())


def fill(url: str, installations: int, events: int, now: dt.datetime) -> Fill:
    from cryptography.fernet import Fernet

    from licentia.server.products.service import create_product
    from licentia.server.store.engine import database_urls, make_sync_engine, upgrade
    from licentia.server.store.partitions import ensure_months, month_of

    upgrade(database_urls(url))
    engine = make_sync_engine(database_urls(url), pool_size=1)
    try:
        with engine.begin() as conn:
            fernet = Fernet(os.environ["LICENTIA_SECRET_KEY"].encode())
            product = create_product(conn, slug="my-app", name="My App", fernet=fernet, now=now)
            policy = conn.execute(
                sa.text("SELECT id FROM policies WHERE product_id = :id AND is_default"), {"id": product.id}
            ).scalar_one()
            ensure_months(conn, month_of(now - dt.timedelta(days=DAYS)), month_of(now))
    finally:
        engine.dispose()
    made = Fill(url, installations, events, product.id, now)
    start = time.perf_counter()
    rng = random.Random(installations)
    licenses = max(1, installations // 20)
    with psycopg.connect(url) as pg:
        # The rows are consistent by construction: skip the foreign-key triggers while
        # loading (a superuser's bulk-load setting; the server never runs so).
        pg.execute("SET session_replication_role = replica")
        _copy(
            pg,
            "COPY licenses (id, product_id, key_prefix, key_hash, state, features, policy_id, policy_overrides,"
            " created_at, updated_at) FROM STDIN",
            (
                f"{n}\t{product.id}\t{sha(str(n))[:5].upper()}\t{sha(f'key-{n}')}\tactive\t[]\t{policy}\t{{}}\t"
                f"{_ts(now)}\t{_ts(now)}\n"
                for n in range(1, licenses + 1)
            ),
        )
        pg.execute("SELECT setval('licenses_id_seq', %s)", (licenses,))
        first_seen = [now - dt.timedelta(seconds=rng.randrange(DAYS * 86400)) for _ in range(installations)]
        last_seen = [f + (now - f) * rng.random() for f in first_seen]

        def license_of(i: int) -> int | None:
            if i < EVIDENCE_DEVICES:
                return EVIDENCE_LICENSE
            return 2 + i % max(1, licenses - 1) if i % 10 == 0 and licenses > 1 else None

        for i in range(installations):
            # A running server frees the seat of an installation unseen for 180 days (the default
            # license type): a licensed installation of the fill was seen within 150.
            if license_of(i) and last_seen[i] < now - dt.timedelta(days=150):
                last_seen[i] = now - dt.timedelta(seconds=rng.randrange(150 * 86400))
        _copy(
            pg,
            "COPY machines (id, product_id, fp_machine, fp_disk, fp_cpu, fp_mac, trial_end, first_seen) FROM STDIN",
            (
                "\t".join(
                    (f"mc{i:030d}", str(product.id), *components(i).values(), _ts(first_seen[i] + dt.timedelta(30)))
                )
                + f"\t{_ts(first_seen[i])}\n"
                for i in range(installations)
            ),
        )

        def device_line(i: int) -> str:
            lic = license_of(i)
            status = "registered" if lic else ("trial" if first_seen[i] > now - dt.timedelta(30) else "trial_expired")
            return (
                f"{device_id(i)}\t{product.id}\tmc{i:030d}\t{sha(f'path-{i}')}\tf\t{SYSTEMS[i % 4]}\t"
                f"{VERSIONS[i % 4]}\t{_ts(first_seen[i])}\t{_ts(last_seen[i])}\t{last_seen[i].date()}\t{status}\t"
                f"{lic if lic else chr(92) + 'N'}\t{_ts(first_seen[i]) if lic else chr(92) + 'N'}\t"
                f"{sha(f'secret-{i}')}\t0\tf\t{{}}\n"
            )

        _copy(
            pg,
            "COPY devices (id, product_id, machine_id, data_path_hash, is_virtual, os_name, app_version, first_seen,"
            " last_seen, seen_day, status, license_id, activated_at, secret_hash, usage_count, clone_suspected,"
            " facts) FROM STDIN",
            (device_line(i) for i in range(installations)),
        )

        evidence = min(EVIDENCE_EVENTS, events // 10)

        def event_lines() -> Iterator[str]:
            seconds = DAYS * 86400
            for n in range(events):
                i = n % EVIDENCE_DEVICES if n < evidence else rng.randrange(installations)
                lic = license_of(i)
                kind = KINDS[n % len(KINDS)]
                at = now - dt.timedelta(seconds=rng.randrange(60, seconds))
                data = f'{{"app_version": "{VERSIONS[i % 4]}"}}' if kind == "check" else "{}"
                yield (
                    f"{product.id}\t{device_id(i)}\t{lic if lic else chr(92) + 'N'}\t{kind}\tfill-{n}\t\\N\t"
                    f'{_ts(at)}\t{data}\t{{}}\t{{"external_ip": "198.51.100.{i % 250}", "server_tz": "UTC"}}\n'
                )

        # Indexes built once after the load instead of row by row during it, as any bulk load does.
        indexes = pg.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' AND tablename = 'events'"
        ).fetchall()
        for name, _ in indexes:
            pg.execute(f"DROP INDEX {name}")  # type: ignore[arg-type]
        _copy(pg, f"COPY events ({EVENT_COLUMNS}) FROM STDIN", event_lines())
        pg.execute("SET maintenance_work_mem = '256MB'")
        for _, definition in indexes:
            # pg_indexes shows a partitioned table's index as made ``ON ONLY`` the parent (valid
            # only once every partition has its own): built plainly, it cascades to the partitions.
            pg.execute(definition.replace(" ON ONLY ", " ON "))  # type: ignore[arg-type]
        invalid = pg.execute(
            "SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE NOT i.indisvalid"
        ).fetchall()
        if invalid:  # a bench on a database without its indexes measures nothing the server would see
            raise RuntimeError(f"indexes left invalid after the load: {sorted(r[0] for r in invalid)}")
        pg.commit()
    made.timings["fill_s"] = time.perf_counter() - start
    made.timings["fill_events_per_s"] = events / made.timings["fill_s"]
    start = time.perf_counter()
    with psycopg.connect(url, autocommit=True) as pg:
        # What autovacuum does after a bulk load: statistics, and the visibility map index-only scans need.
        pg.execute("VACUUM (ANALYZE) devices, machines, licenses, events")
        # And what ends any bulk load: write the load back now. Otherwise the next checkpoints write
        # gigabytes while the checks are measured, and each commit waits behind them.
        pg.execute("CHECKPOINT")
    made.timings["analyze_s"] = time.perf_counter() - start
    return made
