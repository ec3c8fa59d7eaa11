"""Evidence reports: documented TSV columns, signed JSON, escaped HTML, developer API and CLI."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import pytest

from licentia.core.signing import InvalidDocument, load_public_key, verify_document
from licentia.server.auth.tokens import create_token
from licentia.server.cli import main
from licentia.server.evidence.report import CSV_COLUMNS, escape_field
from tests.conftest import START
from tests.server.evidence.history import History

DOCS = Path(__file__).parents[3] / "docs" / "evidence.md"


@pytest.fixture
def case(engine, product):
    """A license with one device, a copy caught, and a computer name full of tabs and markup."""
    history = History(engine, product)
    lic = history.license()
    dev = history.device(lic.id)
    history.event(dev, "install", client_facts={"computer_name": "PC\t1\n<script>alert(1)</script>"})
    history.event(
        dev,
        "register",
        at=START + dt.timedelta(minutes=5),
        license_id=lic.id,
        data={"result": "activated", "key_prefix": lic.key_prefix},
        client_facts={"author_1": "Ann", "user_name": "ann"},
    )
    history.event(dev, "clone_suspected", at=START + dt.timedelta(days=1), license_id=lic.id, data={"reason": "x"})
    return lic


@pytest.fixture
def token(engine, clock):
    with engine.begin() as conn:
        return create_token(conn, name="tests", scopes=["read"], now=clock.now(), created_by=None).token


def test_tsv_columns_are_in_the_documented_order(client, case, token):
    documented = re.findall(r"^\| \d+ \| `(\w+)` \|", DOCS.read_text(), flags=re.MULTILINE)
    assert tuple(documented) == CSV_COLUMNS
    response = client.get(
        f"/v1/admin/licenses/{case.key_prefix}/evidence?format=csv", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/tab-separated-values")
    lines = response.text.splitlines()
    assert lines[0].split("\t") == list(CSV_COLUMNS)
    assert len(lines) == 4  # the tab and newline inside a value did not make extra fields or lines
    rows = [dict(zip(CSV_COLUMNS, line.split("\t"), strict=True)) for line in lines[1:]]
    assert [r["kind"] for r in rows] == ["install", "register", "clone_suspected"]
    assert rows[0]["computer_name"] == "PC\\t1\\n<script>alert(1)</script>"
    assert rows[1]["license_key_prefix"] == case.key_prefix and rows[1]["user_name"] == "ann"
    assert json.loads(rows[1]["other_client_facts"]) == {"author_1": "Ann"}
    assert rows[0]["external_ip"] == "198.51.100.7"
    assert case.key not in response.text


def test_escape_field():
    assert escape_field("a\\b\tc\nd\re") == "a\\\\b\\tc\\nd\\re"
    assert escape_field(None) == "" and escape_field(True) == "true"
    assert escape_field({"b": 1, "a": "x\ty"}) == '{"a":"x\\\\ty","b":1}'


def test_signed_json_verifies_and_fails_after_one_changed_byte(client, case, token, product):
    response = client.get(f"/v1/admin/licenses/{case.id}/evidence", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    raw = response.content
    kid, key = load_public_key(product.public_key)
    report = verify_document(raw, {kid: key}, product="acme")
    assert report["kind"] == "evidence_report" and report["license"]["key_prefix"] == case.key_prefix
    assert [e["kind"] for e in report["events"]] == ["install", "register", "clone_suspected"]
    assert report["risk"]["factors"] and report["customer"]["email"] == "buyer@example.com"
    assert case.key not in raw.decode()
    at = raw.index(b"clone_suspected")
    tampered = raw[:at] + b"C" + raw[at + 1 :]
    with pytest.raises(InvalidDocument):
        verify_document(tampered, {kid: key}, product="acme")


def test_html_is_escaped_and_explains_the_risk(client, case, token):
    response = client.get(
        f"/v1/admin/licenses/{case.key_prefix}/evidence?format=html", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    assert "<script>alert" not in response.text and "&lt;script&gt;alert(1)&lt;/script&gt;" in response.text
    assert "Copy detected" in response.text and "Why this risk level" in response.text


def test_risk_api_needs_a_token_and_explains_factors(client, case, token):
    assert client.get(f"/v1/admin/licenses/{case.id}/risk").status_code == 401
    body = client.get(f"/v1/admin/licenses/{case.id}/risk", headers={"Authorization": f"Bearer {token}"}).json()
    assert body["level"] in ("low", "medium", "high") and 0 <= body["score"] <= 100
    assert {f["name"] for f in body["factors"]} >= {"clones", "devices_beyond_limit", "never_issued_keys"}
    clones = next(f for f in body["factors"] if f["name"] == "clones")
    assert clones["value"] == 1 and clones["sentence"]
    missing = client.get("/v1/admin/devices/dv_nothing/risk", headers={"Authorization": f"Bearer {token}"})
    assert missing.status_code == 404


def test_cli_report_verify_and_risk(migrated, case, engine, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("LICENTIA_SECRET_KEY", migrated.secret_key.get_secret_value())
    common = ["--data-dir", str(migrated.data_dir), "--database-url", migrated.database_url]
    out = tmp_path / "report.json"
    assert main(["evidence", case.key, "--format", "json", "--output", str(out), *common]) == 0
    assert case.key not in out.read_text()
    assert out.stat().st_mode & 0o777 == 0o600  # customer data: private from its creation
    with engine.connect() as conn:
        from licentia.server.products.service import public_keys

        public_key = public_keys(conn, 1)[0]
    assert main(["evidence", "verify", str(out), "--public-key", public_key, *common]) == 0
    assert "genuine evidence report" in capsys.readouterr().out
    raw = out.read_bytes()
    out.write_bytes(raw.replace(b'"install"', b'"instal_"', 1))
    assert main(["evidence", "verify", str(out), "--public-key", public_key, *common]) == 1
    assert "NOT a genuine" in capsys.readouterr().err

    assert main(["evidence", "risk", case.key_prefix, *common]) == 0
    printed = capsys.readouterr().out
    assert "risk" in printed and "clones" in printed and case.key not in printed

    device = tmp_path / "device.tsv"
    assert main(["evidence", "--device", "dv_test0001", "--format", "csv", "-o", str(device), *common]) == 0
    assert device.read_text().splitlines()[0].split("\t") == list(CSV_COLUMNS)
