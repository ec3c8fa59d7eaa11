"""What the vendor sees and does with floating seats: developer API, admin UI, CLI; each release audited."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from typing import Any

import sqlalchemy as sa

from licentia.server.auth.tokens import create_token
from licentia.server.store.models import AuditEntry, table_of
from tests.server.admin_fixtures import csrf_of, make_admin, sign_in
from tests.server.leases.floating import Seat, code, floating_license


def bearer(engine: Any, clock: Any, scopes: list[str]) -> dict[str, str]:
    with engine.begin() as conn:
        token = create_token(conn, name="shop", scopes=scopes, now=clock.now(), created_by="test").token
    return {"Authorization": f"Bearer {token}"}


def license_id(engine: Any) -> int:
    with engine.connect() as conn:
        return int(conn.exec_driver_sql("SELECT id FROM licenses ORDER BY id DESC LIMIT 1").scalar_one())


def audits(engine: Any) -> list[Any]:
    entries = table_of(AuditEntry)
    with engine.connect() as conn:
        return list(conn.execute(sa.select(entries).where(entries.c.action == "lease.force_release")).all())


def two_leases(client: Any, product: Any, engine: Any, clock: Any) -> tuple[str, int, Seat, Seat]:
    key = floating_license(engine, clock.now(), seats=2, lease_seconds=300)
    a = Seat(client, product.public_key, machine="ma", disk="da", cpu="ca", mac="na")
    b = Seat(client, product.public_key, machine="mb", disk="db", cpu="cb", mac="nb")
    a.lease_doc(a.checkout(key))
    b.lease_doc(b.checkout(key))
    return key, license_id(engine), a, b


def test_the_developer_api_lists_leases_and_frees_one(client, product, engine, clock):
    key, lic, a, _b = two_leases(client, product, engine, clock)
    reader, writer = bearer(engine, clock, ["read"]), bearer(engine, clock, ["write"])
    clock.advance(seconds=400)  # both expired: listed as expired, and no seat is held
    listed = client.get(f"/v1/admin/licenses/{lic}/leases", headers=reader).json()
    assert listed["seats_used"] == 0 and {lease["state"] for lease in listed["leases"]} == {"expired"}
    a.lease_doc(a.checkout(key))
    listed = client.get(f"/v1/admin/licenses/{lic}/leases", headers=reader).json()
    assert listed["seats_used"] == 1 and listed["leases"][0]["state"] == "live"
    assert listed["leases"][0]["device_id"] == a.device_id
    path = f"/v1/admin/licenses/{lic}/leases/{a.lease}/release"
    assert client.post(path, headers=reader).status_code == 403
    freed = client.post(path, headers=writer)
    assert freed.status_code == 200 and freed.json()["state"] == "force_released"
    assert client.post(path, headers=writer).json()["state"] == "force_released"  # idempotent
    assert len(audits(engine)) == 1 and audits(engine)[0].actor == "token:shop"
    assert code(a.heartbeat()) == "lease_expired" and "vendor" in a.heartbeat().json()["error"]["message"]
    missing = client.post(f"/v1/admin/licenses/{lic}/leases/ls_{'0' * 24}/release", headers=writer)
    assert missing.status_code == 404 and code(missing) == "unknown_lease"
    assert client.get("/v1/admin/licenses/999/leases", headers=reader).status_code == 404


def test_the_admin_license_page_shows_leases_and_frees_a_seat(client, product, engine, clock):
    _key, lic, a, _b = two_leases(client, product, engine, clock)
    make_admin(engine, clock)
    sign_in(client)
    page = client.get(f"/admin/licenses/{lic}")
    assert page.status_code == 200 and f'hx-get="/admin/licenses/{lic}/leases"' in page.text
    # The facts count a floating license's seats as its live leases, not activations.
    assert "<dt>Seats (floating)</dt><dd>2 of 2" in page.text
    section = client.get(f"/admin/licenses/{lic}/leases", headers={"HX-Request": "true"})
    assert section.status_code == 200 and "<html" not in section.text
    assert a.lease in section.text and a.device_id in section.text and "2 machines hold a seat" in section.text
    whole = client.get(f"/admin/licenses/{lic}/leases")  # without JavaScript: a page of its own
    assert "<html" in whole.text and a.lease in whole.text
    forged = client.post(f"/admin/licenses/{lic}/leases/{a.lease}/release", data={"csrf": "nope"})
    assert forged.status_code == 403 and a.heartbeat().status_code == 200
    done = client.post(
        f"/admin/licenses/{lic}/leases/{a.lease}/release", data={"csrf": csrf_of(client)}, follow_redirects=False
    )
    assert done.status_code == 303 and done.headers["location"] == f"/admin/licenses/{lic}"
    assert "its seat is free" in client.get(done.headers["location"]).text  # the flash, never the URL
    assert code(a.heartbeat()) == "lease_expired"
    assert audits(engine)[0].actor.startswith("admin:") or "ann@" in audits(engine)[0].actor


def test_the_cli_lists_and_frees_leases(client, product, engine, clock, migrated, tmp_path):
    clock.set(dt.datetime.now(dt.UTC))  # the CLI runs on the real clock
    key, lic, a, _b = two_leases(client, product, engine, clock)
    base = [sys.executable, "-m", "licentia"]
    opts = ["--database-url", migrated.resolved_database_url, "--data-dir", str(tmp_path / "cli")]

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*base, *args, *opts], capture_output=True, text=True, timeout=300, check=False)

    shown = run("license", "leases", key)
    assert shown.returncode == 0, shown.stderr
    assert "2 machines hold a seat" in shown.stdout and a.lease in shown.stdout and key not in shown.stdout
    freed = run("license", "release-lease", str(lic), a.lease)
    assert freed.returncode == 0 and "force released" in freed.stdout
    assert code(a.heartbeat()) == "lease_expired"
    bad = run("license", "release-lease", str(lic), "ls_nope")
    assert bad.returncode == 1 and "Traceback" not in bad.stderr and "no lease" in bad.stderr
