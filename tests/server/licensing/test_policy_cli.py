"""``licentia policy`` and ``licentia license issue --policy``: what a vendor types, on both databases."""

from __future__ import annotations

import json
import subprocess
import sys

import sqlalchemy as sa

from licentia.server.store.models import License, table_of


def run(data_dir, database_url, *args):
    return subprocess.run(
        [sys.executable, "-m", "licentia", *args, "--data-dir", str(data_dir), "--database-url", database_url],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_a_vendor_defines_license_types_and_issues_keys_of_them(tmp_path, database_url, engine):
    data = tmp_path / "data"
    assert run(data, database_url, "init").returncode == 0
    made = run(
        data, database_url,
        "policy", "create", "my-app", "Pro yearly",
        "--set", "max_devices=3", "--set", "expiry_mode=from_issue", "--set", "expiry_days=365",
        "--set", "maintenance_days=365", "--set", 'entitlements={"export_pdf": true, "max_projects": 10}',
        "--set", 'meters={"renders": {"limit": 1000, "period": "month"}}',
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    shown = json.loads(made.stdout)
    assert shown["max_devices"] == 3 and shown["entitlements"]["max_projects"] == {"value": 10, "expires_at": None}
    assert shown["meters"] == {"renders": {"limit": 1000, "period": "month"}}
    changed = run(data, database_url, "policy", "set", "my-app", "Pro yearly", "--set", "seat_release_days=30")
    assert json.loads(changed.stdout)["seat_release_days"] == 30
    issued = run(
        data, database_url, "license", "issue", "--product", "my-app", "--email", "ann@example.com",
        "--policy", "Pro yearly", "--set", "max_devices=5",
    )  # fmt: skip
    assert issued.returncode == 0, issued.stderr
    listed = run(data, database_url, "policy", "list", "my-app").stdout.splitlines()
    assert listed[0].startswith("Default (default)") and "Pro yearly\tnode_locked\t3 machines\t1 licenses" in listed
    with engine.connect() as conn:
        lic = conn.execute(sa.select(table_of(License))).one()
    assert lic.policy_overrides == {"max_devices": 5} and lic.expires_at is not None
    assert (lic.maintenance_until - lic.created_at).days == 365

    for args, message in (
        (("policy", "set", "my-app", "Pro yearly", "--set", "max_devices=many"), "max_devices must be a whole number"),
        (("policy", "set", "my-app", "Nope", "--set", "max_devices=2"), "no policy named 'Nope'"),
        (("policy", "create", "my-app", "Pro yearly"), "already has a policy named"),
        (("policy", "create", "my-app", "X", "--set", "entitlements={oops"), "JSON object"),
        (("policy", "set", "my-app", "Pro yearly"), "needs --set"),
        (("license", "issue", "--product", "my-app", "--email", "a@b.c", "--policy", "Nope"), "no policy named"),
    ):
        failed = run(data, database_url, *args)
        assert failed.returncode == 1 and message in failed.stderr and "Traceback" not in failed.stderr, failed.stderr
