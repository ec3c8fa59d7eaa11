"""Typed entitlements of a license type, read through the SDK, online and offline."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from licentia.client.status import status_of
from licentia.core.status import judge
from tests.client.conftest import FakeMachine, app
from tests.conftest import LiveServer


def test_a_license_types_entitlements_reach_the_application(
    server: LiveServer, machine: FakeMachine, tmp_path: Path
) -> None:
    entitlements = {"export_pdf": True, "max_projects": 100, "edition": "pro"}
    made = server.cli("policy", "create", "my-app", "Pro", "--set", f"entitlements={json.dumps(entitlements)}")
    assert made.returncode == 0, made.stderr
    issued = server.cli("license", "issue", "--product", "my-app", "--email", "a@b.c", "--policy", "Pro")
    assert issued.returncode == 0, issued.stderr
    lic = app(server, tmp_path / "data", machine)
    lic.check()
    status = lic.activate(issued.stdout.strip())
    assert status.entitlement("max_projects") == 100 and status.entitlement("edition") == "pro"
    assert status.entitlement("export_pdf") is True and status.has_feature("export_pdf")
    assert status.entitlement("missing", default=3) == 3
    offline = lic.check(online=False)
    assert offline.allowed and offline.entitlement("max_projects") == 100


def test_an_expired_or_malformed_entitlement_grants_nothing() -> None:
    now = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
    payload = {
        "status": "registered",
        "license": {"expires_at": None},
        "features": ["export_pdf"],
        "lease_until": "2026-06-08T00:00:00Z",
        "grace_days": 7,
        "entitlements": {
            "edition": {"value": "pro", "expires_at": None},
            "beta": {"value": True, "expires_at": "2026-05-31T00:00:00Z"},
            "broken": {"value": [1, 2], "expires_at": None},
            "odd_expiry": {"value": 5, "expires_at": "not a time"},
        },
    }
    assert judge(payload, now).allowed
    status = status_of(payload, now, online=False)
    assert status.entitlements == {"edition": "pro"}
    blocked = status_of({**payload, "status": "blocked"}, now, online=False)
    assert blocked.entitlement("edition") is None
    older_server = status_of({k: v for k, v in payload.items() if k != "entitlements"}, now, online=False)
    assert older_server.entitlement("export_pdf") is True
