"""Filling a PostgreSQL database for bench/scale.py: installations, machines, licenses, a year of events.

The rows are made inside PostgreSQL, set by set (``INSERT ... SELECT ... FROM
generate_series``), with the indexes built after the load: ten million
installations fill in minutes where rows made in Python and copied took over
an hour. Rows are shaped like the server's own (the same hashes, credentials
and JSON), so a real ``licentia serve`` answers checks for them: installation
``i`` has the secret ``secret-i`` and hardware components derived from ``i``,
hashed by PostgreSQL's ``sha256`` as :func:`sha` hashes them. Each row's
random draws (first and last seen, an event's installation and moment) come
from hashing its number, so every statement sees the same fleet. The events
are spread over the 365 days before ``now`` (so over 13 monthly partitions),
mostly daily ``check`` events, and license 1 holds :data:`EVIDENCE_EVENTS` of
them across its 50 installations. One license in three is a subscription
ending within the year. ``copy_events`` (COPY) remains for the ingestion
figure's raw baseline.
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


def _fraction(value: str, seed: int) -> str:
    """SQL for a number in [0, 1) drawn from ``value`` alone: the same row gets the same draw in every statement."""
    return f"((hashint8extended(({value})::bigint, {seed}) & 4503599627370495)::float8 / 4503599627370496)"


def _sha(prefix: str, value: str) -> str:
    """SQL for :func:`sha` of ``prefix`` followed by ``value``: the hex SHA-256 the server stores."""
    return f"encode(sha256(convert_to('{prefix}' || ({value}), 'UTF8')), 'hex')"


def _license_of(i: str) -> str:
    """SQL for the license installation ``i`` holds: 50 on the evidence license, one in ten on the others."""
    return (
        f"CASE WHEN {i} < {EVIDENCE_DEVICES} THEN {EVIDENCE_LICENSE}"
        f" WHEN mod({i}, 10) = 0 AND %(licenses)s > 1 THEN 2 + mod({i}, greatest(1, %(licenses)s - 1)) END"
    )


# Installation i: first seen in the year before now, last seen between then and now. A running
# server frees the seat of an installation unseen for 180 days (the default license type): a
# licensed installation of the fill was seen within 150.
FLEET = f"""
SELECT i, first_seen, license_id,
       CASE WHEN license_id IS NOT NULL AND seen < %(now)s - interval '150 days'
            THEN %(now)s - floor({_fraction("i", 3)} * 150 * 86400) * interval '1 second' ELSE seen END AS last_seen
FROM (
    SELECT i, first_seen, license_id,
           date_trunc('second', first_seen + (%(now)s - first_seen) * {_fraction("i", 2)}) AS seen
    FROM (
        SELECT i, %(now)s - floor({_fraction("i", 1)} * {DAYS} * 86400) * interval '1 second' AS first_seen,
               {_license_of("i")} AS license_id
        FROM generate_series(0, %(installations)s - 1) AS i
    ) AS drawn
) AS fleet
"""
LICENSES = f"""
INSERT INTO licenses (id, product_id, key_prefix, key_hash, state, expires_at, features, policy_id, policy_overrides,
                      created_at, updated_at)
SELECT n, %(product)s, upper(left({_sha("", "n::text")}, 5)), {_sha("key-", "n")}, 'active',
       -- One in three a subscription that ends within the year (the expiring-licenses queue's rows).
       CASE WHEN mod(n, 3) = 0 THEN %(now)s + ceil({_fraction("n", 4)} * 365 * 86400) * interval '1 second' END,
       '[]', %(policy)s, '{{}}', %(now)s, %(now)s
FROM generate_series(1, %(licenses)s) AS n
"""
MACHINES = f"""
INSERT INTO machines (id, product_id, fp_machine, fp_disk, fp_cpu, fp_mac, trial_end, first_seen)
SELECT 'mc' || lpad(i::text, 30, '0'), %(product)s, {_sha("machine-", "i")}, {_sha("disk-", "i")},
       {_sha("cpu-", "i")}, {_sha("mac-", "i")}, first_seen + interval '30 days', first_seen
FROM ({FLEET}) AS fleet
"""
DEVICES = f"""
INSERT INTO devices (id, product_id, machine_id, data_path_hash, is_virtual, os_name, app_version, first_seen,
                     last_seen, seen_day, status, license_id, activated_at, secret_hash, usage_count,
                     clone_suspected, facts)
SELECT 'dv' || lpad(i::text, 30, '0'), %(product)s, 'mc' || lpad(i::text, 30, '0'), {_sha("path-", "i")}, false,
       (%(systems)s::text[])[mod(i, 4) + 1], (%(versions)s::text[])[mod(i, 4) + 1],
       first_seen, last_seen, last_seen::date,
       CASE WHEN license_id IS NOT NULL THEN 'registered'
            WHEN first_seen > %(now)s - interval '30 days' THEN 'trial' ELSE 'trial_expired' END,
       license_id, CASE WHEN license_id IS NOT NULL THEN first_seen END, {_sha("secret-", "i")}, 0, false, '{{}}'
FROM ({FLEET}) AS fleet
"""
# A year of events: the evidence license's first, then one random installation each; kinds in a fleet's mix.
EVENTS = f"""
INSERT INTO events ({EVENT_COLUMNS})
SELECT %(product)s, 'dv' || lpad(i::text, 30, '0'), {_license_of("i")},
       CASE WHEN mod(n, 100) < 85 THEN 'check' WHEN mod(n, 100) < 93 THEN 'usage' WHEN mod(n, 100) < 96 THEN 'install'
            WHEN mod(n, 100) < 98 THEN 'upgrade' WHEN mod(n, 100) = 98 THEN 'register' ELSE 'uninstall' END,
       'fill-' || n, NULL,
       %(now)s - (60 + floor({_fraction("n", 6)} * ({DAYS} * 86400 - 60))) * interval '1 second',
       CASE WHEN mod(n, 100) < 85 THEN jsonb_build_object('app_version', (%(versions)s::text[])[mod(i, 4) + 1])
            ELSE '{{}}' END,
       '{{}}', jsonb_build_object('external_ip', '198.51.100.' || mod(i, 250), 'server_tz', 'UTC')
FROM (
    SELECT n, CASE WHEN n < %(evidence)s THEN mod(n, {EVIDENCE_DEVICES})
                   ELSE floor({_fraction("n", 5)} * %(installations)s)::bigint END AS i
    FROM generate_series(0, %(events)s - 1) AS n
) AS drawn
"""


def _secondary_indexes(pg: psycopg.Connection[Any], tables: tuple[str, ...]) -> list[tuple[str, str]]:
    """(name, definition) of the tables' indexes that back no constraint: those a bulk load builds after."""
    return pg.execute(
        "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.schemaname = 'public'"
        " AND i.tablename = ANY(%s) AND NOT EXISTS (SELECT 1 FROM pg_constraint c"
        " WHERE c.conindid = (quote_ident(i.schemaname) || '.' || quote_ident(i.indexname))::regclass)",
        (list(tables),),
    ).fetchall()


def fill(url: str, installations: int, events: int, now: dt.datetime) -> Fill:
    """Installations, machines, licenses and events made inside PostgreSQL, set by set.

    Every row is the server's own shape: the secrets, fingerprints and data paths are the
    same SHA-256 hashes :meth:`Fill.check_requests` sends, computed by PostgreSQL's ``sha256``.
    """
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
    params = {
        "now": now.replace(tzinfo=None),
        "product": product.id,
        "policy": policy,
        "installations": installations,
        "licenses": max(1, installations // 20),
        "events": events,
        "evidence": min(EVIDENCE_EVENTS, events // 10),
        "systems": list(SYSTEMS),
        "versions": list(VERSIONS),
    }
    with psycopg.connect(url) as pg:
        # The rows are consistent by construction: skip the foreign-key triggers while
        # loading (a superuser's bulk-load setting; the server never runs so).
        pg.execute("SET session_replication_role = replica")
        pg.execute("SET maintenance_work_mem = '256MB'")
        # Indexes built once after the load instead of row by row during it, as any bulk load does
        # (those behind a primary key or unique constraint stay: their keys arrive in order, or few).
        indexes = _secondary_indexes(pg, ("licenses", "machines", "devices", "events"))
        for name, _ in indexes:
            pg.execute(f'DROP INDEX "{name}"')  # type: ignore[arg-type]
        for statement in (LICENSES, MACHINES, DEVICES, EVENTS):
            pg.execute(statement, params)  # type: ignore[arg-type]
        pg.execute("SELECT setval('licenses_id_seq', %(licenses)s)", params)
        for _, definition in indexes:
            # pg_indexes shows a partitioned table's index as made ``ON ONLY`` the parent (valid
            # only once every partition has its own): built plainly, it cascades to the partitions.
            pg.execute(definition.replace(" ON ONLY ", " ON "))  # type: ignore[arg-type]
        invalid = pg.execute(
            "SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE NOT i.indisvalid"
        ).fetchall()
        if invalid:  # a bench on a database without its indexes measures nothing the server would see
            raise RuntimeError(f"indexes left invalid after the load: {sorted(r[0] for r in invalid)}")
        _same_as_python(pg, made)
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


def _same_as_python(pg: psycopg.Connection[Any], made: Fill) -> None:
    """The installations the checks send are in the tables with the hashes Python computes for them."""
    step = max(1, made.installations // 5)
    for i in sorted({0, *range(0, made.installations, step), made.installations - 1}):
        row = pg.execute(
            "SELECT d.secret_hash, d.data_path_hash, m.fp_machine, m.fp_disk, m.fp_cpu, m.fp_mac"
            " FROM devices d JOIN machines m ON m.id = d.machine_id WHERE d.id = %s",
            (device_id(i),),
        ).fetchone()
        expected = (sha(f"secret-{i}"), sha(f"path-{i}"), *components(i).values())
        if row != expected:
            raise RuntimeError(f"installation {i} was filled unlike the server's rows: {row} != {expected}")
