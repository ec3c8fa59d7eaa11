"""Staff allow one license more moves to another machine, or reset its count: developer API, admin UI, CLI, audited."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from typing import Any

import sqlalchemy as sa

from licentia.server.auth.tokens import create_token
from tests.server.admin_fixtures import csrf_of, make_admin, sign_in
from tests.server.test_transfers import activate, computer, error_of, issue, limit_moves


def at_the_limit(client: Any, product: Any, engine: Any, clock: Any) -> tuple[Any, Any, Any]:
    """A one-seat license whose type allows one move per 30 days, moved once: (license, a wanting it, b)."""
    limit_moves(engine, 1, days=30)
    lic = issue(engine, clock)
    a, b = computer(client, product, "a"), computer(client, product, "b")
    assert activate(a, lic.key).status_code == 200
    a.check("/v1/deactivate")
    assert activate(b, lic.key).status_code == 200  # the one move
    b.check("/v1/deactivate")
    error_of(activate(a, lic.key))
    return lic, a, b


def bearer(engine: Any, clock: Any, scope: str) -> dict[str, str]:
    with engine.begin() as conn:
        token = create_token(conn, name=f"{scope}er", scopes=[scope], now=clock.now(), created_by="test").token
    return {"Authorization": f"Bearer {token}"}


def audited(engine: Any) -> list[tuple[str, str, dict[str, Any]]]:
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT actor, action, details FROM audit_entries WHERE action LIKE 'license.%transfers' ORDER BY id"
            )
        ).all()
    # JSON on SQLite comes back as text through sa.text(); PostgreSQL's JSONB as a dict.
    return [(r.actor, r.action, r.details if isinstance(r.details, dict) else json.loads(r.details)) for r in rows]


def test_the_developer_api_shows_grants_and_resets_a_licenses_transfers(client, product, engine, clock):
    lic, a, b = at_the_limit(client, product, engine, clock)
    reader, writer = bearer(engine, clock, "read"), bearer(engine, clock, "write")
    record = client.get(f"/v1/admin/licenses/{lic.id}", headers=reader).json()
    next_at = (clock.now() + dt.timedelta(days=30)).isoformat().replace("+00:00", "Z")
    assert record["transfers"] == {
        "limit": 1, "period_days": 30, "used": 1, "extra": 0, "left": 0, "next_transfer_at": next_at,
    }  # fmt: skip
    path = f"/v1/admin/licenses/{lic.id}/grant-transfers"
    assert client.post(path, json={"transfers": 2}, headers=reader).status_code == 403
    assert client.post(path, json={"transfers": 0}, headers=writer).status_code == 422
    granted = client.post(path, json={"transfers": 2, "reason": "new office"}, headers=writer)
    assert granted.status_code == 200 and granted.json()["transfers"]["left"] == 2
    # Past the limit, a move uses a grant, and the count of the period stays what it was.
    assert activate(a, lic.key).status_code == 200
    assert client.get(f"/v1/admin/licenses/{lic.id}", headers=reader).json()["transfers"]["extra"] == 1
    a.check("/v1/deactivate")
    assert activate(b, lic.key).status_code == 200
    b.check("/v1/deactivate")
    error_of(activate(a, lic.key))
    reset = client.post(
        f"/v1/admin/licenses/{lic.id}/reset-transfers", json={"reason": "stolen laptop"}, headers=writer
    )
    assert reset.json()["transfers"] == {
        "limit": 1, "period_days": 30, "used": 0, "extra": 0, "left": 1, "next_transfer_at": None,
    }  # fmt: skip
    assert activate(a, lic.key).status_code == 200
    missing = client.post("/v1/admin/licenses/999999/reset-transfers", headers=writer)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "unknown_license"
    assert audited(engine) == [
        ("token:writeer", "license.grant_transfers", {"transfers": 2, "reason": "new office"}),
        ("token:writeer", "license.reset_transfers", {"forgiven": 1, "reason": "stolen laptop"}),
    ]


def test_the_admin_license_page_shows_the_count_and_staff_allow_more_or_reset_it(client, product, engine, clock):
    lic, a, _b = at_the_limit(client, product, engine, clock)
    make_admin(engine, clock)
    sign_in(client)
    page = client.get(f"/admin/licenses/{lic.id}").text
    assert "1 of 1 in the last 30 days: 0 left, the next from" in page and 'id="reset-transfers"' in page
    base = f"/admin/licenses/{lic.id}"
    forged = client.post(f"{base}/grant-transfers", data={"transfers": "1", "csrf": "nope"})
    assert forged.status_code == 403
    bad = client.post(f"{base}/grant-transfers", data={"transfers": "lots", "csrf": csrf_of(client)})
    assert bad.status_code == 400 and "transfers must be a whole number" in bad.text
    done = client.post(
        f"{base}/grant-transfers",
        data={"transfers": "1", "reason": "replaced board", "csrf": csrf_of(client)},
        follow_redirects=False,
    )
    assert done.status_code == 303 and done.headers["location"].startswith(base)
    assert "1 more allowed by staff: 1 left" in client.get(base).text
    done = client.post(f"{base}/reset-transfers", data={"reason": "", "csrf": csrf_of(client)}, follow_redirects=False)
    assert done.status_code == 303
    assert "0 of 1 in the last 30 days, 1 more allowed by staff: 2 left" in client.get(base).text
    assert activate(a, lic.key).status_code == 200
    assert [(actor[:6], action) for actor, action, _ in audited(engine)] == [
        ("admin:", "license.grant_transfers"),
        ("admin:", "license.reset_transfers"),
    ]
    history = client.get(base).text
    assert "grant transfers" in history and "reset transfers" in history and "replaced board" in history


def test_the_cli_shows_grants_and_resets_a_licenses_transfers(client, product, engine, clock, migrated, tmp_path):
    clock.set(dt.datetime.now(dt.UTC))  # the CLI counts on the real clock
    lic, a, _b = at_the_limit(client, product, engine, clock)
    opts = ["--database-url", migrated.resolved_database_url, "--data-dir", str(tmp_path / "cli")]

    def run(*args: str, code: int = 0) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "licentia", "license", "transfers", *args, *opts],
            capture_output=True, text=True, timeout=300, check=False,
        )  # fmt: skip
        assert done.returncode == code and "Traceback" not in done.stderr, done.stderr
        return done.stdout if code == 0 else done.stderr

    shown = run(lic.key)  # a full key is matched by its hash, and never printed
    assert "1 moves to another machine in the last 30 days, limit 1: 0 left, the next from" in shown
    assert lic.key not in shown
    assert "grant 1 to 1000 transfers" in run(str(lic.id), "--grant", "0", code=1)
    assert "1 more allowed by staff: 1 left" in run(str(lic.id), "--grant", "1", "--reason", "repair")
    assert "0 moves to another machine" in run(str(lic.id), "--reset")
    assert activate(a, lic.key).status_code == 200
    assert '"used": 1' in run(str(lic.id), "--json")
    assert [(actor[:4], action, details.get("reason")) for actor, action, details in audited(engine)] == [
        ("cli:", "license.grant_transfers", "repair"),
        ("cli:", "license.reset_transfers", None),
    ]
