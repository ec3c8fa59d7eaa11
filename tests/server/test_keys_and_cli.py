"""Key rotation and the operator CLI."""

from __future__ import annotations

import json
import subprocess
import sys

from fastapi.testclient import TestClient

from licentia.core.signing import InvalidDocument, load_public_key, verify_document
from licentia.server.app import create_app
from licentia.server.products.service import rotate_key
from tests.server.helpers import Installation


def test_rotation_keeps_old_documents_valid_and_pinned_apps_trust_the_new_key(migrated, product, engine, clock):
    with TestClient(create_app(migrated, clock=clock)) as client:
        app = Installation(client, product.public_key)
        app.check()
        old_signed = json.loads(app.call("/v1/check").content)["signed"]
        with engine.begin() as conn:
            new_key = rotate_key(conn, slug="acme", fernet=migrated.fernet(), now=clock.now())
        new_signed = json.loads(app.call("/v1/check").content)["signed"]
    assert new_signed["kid"] == new_key.kid != old_signed["kid"]
    kid, pinned = load_public_key(product.public_key)  # the key the app shipped with
    assert verify_document(old_signed, {kid: pinned}, product="acme")["status"] == "trial"
    assert verify_document(new_signed, {kid: pinned}, product="acme")["status"] == "trial"
    new_signed["document"]["status"] = "registered"
    try:
        verify_document(new_signed, {kid: pinned}, product="acme")
        raise AssertionError("a changed document verified")
    except InvalidDocument:
        pass


def run(*args, data_dir):
    return subprocess.run(
        [sys.executable, "-m", "licentia", *args, "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_cli_issues_keys_and_reports_errors_in_one_line(tmp_path):
    data = tmp_path / "data"
    assert run("init", data_dir=data).returncode == 0
    issued = run(
        "license", "issue", "--product", "my-app", "--email", "ann@example.com", "--max-devices", "3", data_dir=data
    )
    assert issued.returncode == 0, issued.stderr
    key = issued.stdout.strip()
    assert len(key) == 29 and key.count("-") == 4
    listed = run("license", "list", data_dir=data)
    assert key[:5] in listed.stdout and key not in listed.stdout  # never the whole key
    for args in (
        ("license", "issue", "--product", "nope", "--email", "a@b.c"),
        ("license", "issue", "--product", "my-app", "--email", "not-an-email"),
        ("license", "revoke", "999"),
        ("product", "policy", "my-app", "--set", "on_clone=explode"),
        ("keys", "rotate", "--product", "nope"),
        ("device", "show", "dv_missing"),
    ):
        result = run(*args, data_dir=data)
        assert result.returncode == 1, args
        assert result.stderr.startswith("licentia: error: ") and "Traceback" not in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1
    usage = run("license", "issue", data_dir=data)
    assert usage.returncode == 2 and "Traceback" not in usage.stderr
    bad_url = subprocess.run(
        [sys.executable, "-m", "licentia", "migrate", "--database-url", "mysql://x/y"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert bad_url.returncode == 1 and "unsupported database" in bad_url.stderr


def test_cli_policy_rotation_and_backup(tmp_path):
    data = tmp_path / "data"
    run("init", data_dir=data)
    assert (
        run(
            "product", "policy", "my-app", "--set", "trial_days=14", "--set", "on_clone=block", data_dir=data
        ).returncode
        == 0
    )
    shown = json.loads(run("product", "show", "my-app", data_dir=data).stdout)
    assert shown["policy"]["trial_days"] == 14 and shown["policy"]["on_clone"] == "block"
    assert run("keys", "rotate", "--product", "my-app", data_dir=data).returncode == 0
    assert len(run("keys", "show", "--product", "my-app", data_dir=data).stdout.split()) == 2
    (tmp_path / "phrase").write_text("correct horse battery staple")
    backup = run("backup", str(tmp_path / "copy.db"), "--passphrase-file", str(tmp_path / "phrase"), data_dir=data)
    assert backup.returncode == 0 and (tmp_path / "copy.db").stat().st_size > 0
    unsealed = run("backup", str(tmp_path / "other.db"), data_dir=data)  # no passphrase: refused in one line
    assert unsealed.returncode == 1 and "passphrase" in unsealed.stderr and "Traceback" not in unsealed.stderr


def test_cli_exports_events_as_csv_and_json_lines(live_server):
    import httpx

    from tests.server.helpers import fingerprint

    for i in range(3):
        body = {"product": "my-app", "fingerprint": fingerprint("my-app", machine=f"m{i}", disk=f"d{i}", mac=f"n{i}")}
        assert httpx.post(live_server.url + "/v1/check", json=body, timeout=30).status_code == 200
    as_csv = live_server.cli("export", "--format", "csv")
    assert as_csv.returncode == 0, as_csv.stderr
    lines = as_csv.stdout.strip().splitlines()
    assert lines[0].startswith("id,product_id,device_id") and len(lines) == 4  # header once, a row per event
    as_json = live_server.cli("export", "--format", "json", "--product", "my-app")
    events = [json.loads(line) for line in as_json.stdout.splitlines()]
    assert [e["kind"] for e in events] == ["check"] * 3 and events[0]["received_at"]
    assert live_server.cli("export", "--product", "nope").returncode == 1
