"""``licentia demo``: a realistic product history, so a newcomer sees a living dashboard in one command.

Thousands of devices over 90 days: installs growing week over week with a
weekday rhythm, trials that lapse or convert into licenses, releases that
devices upgrade to, an OS mix, uninstalls, feedback, a few copied
installations and key-generator keys. Rows are written with bulk inserts and
a seeded ``random.Random`` against the ``Clock``, so the same seed gives the
same history; rollups are computed at the end.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
from typing import Any

import sqlalchemy as sa
from cryptography.fernet import Fernet

from licentia.core.clock import Clock
from licentia.core.vocabulary import EventKind
from licentia.server.licenses.service import issue_license
from licentia.server.products.service import get_product
from licentia.server.store.tables import devices, events, machines, policies, products, releases

VERSIONS = (("1.0.0", 90), ("1.1.0", 72), ("1.2.0", 50), ("1.2.1", 33), ("2.0.0", 14), ("2.0.1", 5))
OS_MIX = (
    ("Windows 11", 44),
    ("Windows 10", 24),
    ("macOS 14", 14),
    ("macOS 13", 6),
    ("Ubuntu 24.04", 7),
    ("Debian 12", 3),
    ("Fedora 40", 2),
)
FEEDBACK = ("Love it", "Crashes when exporting PDF", "Please add dark mode", "Great support, thanks", "Too expensive")


def _hex(rng: random.Random) -> str:
    return hashlib.sha256(rng.getrandbits(128).to_bytes(16, "big")).hexdigest()


def fill(
    conn: sa.Connection,
    *,
    product: str,
    clock: Clock,
    rng: random.Random,
    count: int,
    days: int,
    fernet: Fernet | None = None,
) -> dict[str, int]:
    """Write the history of ``count`` devices over ``days`` days ending now; return what was made.

    ``fernet`` (the server's key) keeps the licenses' keys sealed, as sold ones are, so "Resend key" works.
    """
    prod = get_product(conn, product)
    if conn.execute(sa.select(devices.c.id).where(devices.c.product_id == prod.id).limit(1)).first():
        raise ValueError(f"product {product!r} already has devices: run the demo on a fresh database")
    trial_days = conn.execute(
        sa.select(policies.c.trial_days).where(policies.c.product_id == prod.id, policies.c.is_default)
    ).scalar_one()
    conn.execute(products.update().where(products.c.id == prod.id).values(collect_facts=True))
    now = clock.now()
    start = now - dt.timedelta(days=days)
    shipped = [(v, now - dt.timedelta(days=min(ago, days), hours=3)) for v, ago in VERSIONS]
    conn.execute(
        releases.insert(),
        [
            {
                "product_id": prod.id,
                "version": v,
                "channel": "stable",
                "released_at": at,
                "download_url": f"https://downloads.example.com/{product}/{v}/",
                "notes": f"Release {v}: fixes and improvements.",
            }
            for v, at in shipped
        ],
    )

    def version_at(when: dt.datetime) -> str:
        return [v for v, at in shipped if at <= when][-1] if shipped[0][1] <= when else shipped[0][0]

    device_rows: list[dict[str, Any]] = []
    machine_rows: list[dict[str, Any]] = []
    event_rows: list[dict[str, Any]] = []
    conversions: list[tuple[str, dt.datetime]] = []
    weights = [
        (1 + 2.2 * d / days) * (0.65 if (start + dt.timedelta(days=d)).weekday() >= 5 else 1.0) for d in range(days)
    ]
    networks = [f"{rng.randint(11, 223)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}" for _ in range(count // 3 + 1)]

    def event(device_id: str, kind: str, at: dt.datetime, ip: str, **data: Any) -> None:
        event_rows.append(
            {
                "product_id": prod.id,
                "device_id": device_id,
                "license_id": None,
                "kind": kind,
                "client_event_id": f"demo-{kind}-{at.date().isoformat()}-{len(event_rows)}",
                "occurred_at": at,
                "received_at": at,
                "data": data,
                "client_facts": {},
                "server_facts": {"external_ip": ip, "server_tz": "UTC"},
            }
        )

    for _ in range(count):
        day = rng.choices(range(days), weights)[0]
        first = start + dt.timedelta(days=day, seconds=rng.randint(0, 86399))
        device_id = f"dv_{rng.getrandbits(80):020x}"
        ip = f"{rng.choice(networks)}.{rng.randint(1, 254)}"
        os_name = rng.choices([o for o, _ in OS_MIX], [w for _, w in OS_MIX])[0]
        version = version_at(first)
        loyal = rng.random() < 0.55
        converts = rng.random() < 0.16
        active_days = (days - day) if converts or loyal else rng.randint(1, max(2, trial_days))
        last = first
        event(device_id, EventKind.INSTALL, first, ip, app_version=version)
        event(device_id, EventKind.CHECK, first, ip, app_version=version)
        activated = None
        if converts:
            activated = first + dt.timedelta(days=rng.uniform(0.2, trial_days - 1), hours=rng.random())
            if activated < now:
                conversions.append((device_id, activated))
            else:
                activated = None
        for offset in range(1, active_days):
            at = first + dt.timedelta(days=offset, minutes=rng.randint(-300, 300))
            if at >= now:
                break
            if rng.random() < (0.75 if activated else 0.55):
                newer = version_at(at)
                if newer != version and rng.random() < 0.35:
                    event(device_id, EventKind.UPGRADE, at, ip, **{"from": version, "to": newer})
                    version = newer
                event(device_id, EventKind.CHECK, at, ip, app_version=version)
                last = at
        if not converts and not loyal and last < now - dt.timedelta(days=3) and rng.random() < 0.35:
            event(device_id, EventKind.UNINSTALL, last + dt.timedelta(minutes=5), ip)
        if rng.random() < 0.03:
            event(device_id, EventKind.FEEDBACK, first + (last - first) * rng.random(), ip, text=rng.choice(FEEDBACK))
        trial_end = first + dt.timedelta(days=trial_days)
        machine_id = "mc_" + device_id[3:]
        machine_rows.append(
            {
                "id": machine_id,
                "product_id": prod.id,
                "fp_machine": _hex(rng),
                "fp_disk": _hex(rng),
                "fp_cpu": _hex(rng),
                "fp_mac": _hex(rng),
                "trial_end": trial_end,
                "first_seen": first,
            }
        )
        device_rows.append(
            {
                "id": device_id,
                "product_id": prod.id,
                "machine_id": machine_id,
                "external_id": None,
                "data_path_hash": _hex(rng),
                "is_virtual": rng.random() < 0.04,
                "os_name": os_name,
                "app_version": version,
                "first_seen": first,
                "last_seen": last,
                "status": "registered" if activated else ("trial" if trial_end > now else "trial_expired"),
                "status_reason": None,
                "license_id": None,
                "activated_at": activated,
                "secret_hash": _hex(rng),
                "token_hash": _hex(rng),
                "prev_token_hash": None,
                "usage_count": 1 + active_days,
                "clone_suspected": False,
                "facts": {"computer_name": _computer_name(rng, os_name)},
            }
        )

    # A few copied installations and key-generator keys: the piracy chart should not be empty.
    for row in rng.sample(device_rows, k=min(len(device_rows), max(3, count // 250))):
        row["clone_suspected"] = True
        event(row["id"], EventKind.CLONE_SUSPECTED, row["last_seen"], "203.0.113.7", reason="stale_token")
    for _ in range(max(5, count // 80)):
        row = rng.choice(device_rows)
        at = row["first_seen"] + dt.timedelta(hours=rng.randint(1, 48))
        if at < now:
            event(row["id"], EventKind.INVALID_KEY, at, "198.51.100.23", key_prefix="K3YGN", reason="not_issued")
    conn.execute(machines.insert(), machine_rows)
    conn.execute(devices.insert(), device_rows)
    conn.execute(events.insert(), event_rows)

    by_id = {row["id"]: row for row in device_rows}
    for n, (device_id, activated) in enumerate(conversions):
        issued = issue_license(
            conn,
            product=product,
            email=f"customer{n + 1}@example.com",
            name=f"Customer {n + 1}",
            now=activated - dt.timedelta(minutes=2),
            order_ref=f"DEMO-{n + 1:05d}",
            source="demo",
            fernet=fernet,
        )
        conn.execute(devices.update().where(devices.c.id == device_id).values(license_id=issued.id))
        event(device_id, EventKind.REGISTER, activated, "192.0.2.1", result="activated")
        by_id[device_id]["license_id"] = issued.id
    if conversions:  # a small demo may have none
        conn.execute(events.insert(), event_rows[-len(conversions) :])
    return {"devices": len(device_rows), "events": len(event_rows), "licenses": len(conversions)}


def _computer_name(rng: random.Random, os_name: str) -> str:
    if os_name.startswith("Windows"):
        return "DESKTOP-" + "".join(rng.choices("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789", k=7))
    if os_name.startswith("macOS"):
        return f"{rng.choice(['Anna', 'Ben', 'Chen', 'Dana', 'Emil', 'Farah'])}s-MacBook-Pro"
    return rng.choice(["workstation", "devbox", "thinkpad", "build"]) + f"-{rng.randint(1, 99)}"
