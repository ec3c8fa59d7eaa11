"""Case notes: staff add them from the admin UI, the CLI and the developer API; each is audited, and the
signed evidence report carries them as the vendor's notes and still verifies (both databases)."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from licentia.core.signing import load_public_key, verify_document
from licentia.server.auth.tokens import create_token
from licentia.server.cli import main
from licentia.server.licenses.service import issue_license
from licentia.server.products.service import public_keys
from licentia.server.store.tables import audit_entries, case_notes, devices
from tests.server.admin_fixtures import PASSWORD, csrf_of, make_admin, sign_in
from tests.server.helpers import Installation

PIRATE_NOTE = "Customer says the second PC is a <b>lab clone</b>;\nasked for the invoice."


class Case:
    """A licensed installation and the machine it runs on."""

    def __init__(self, client: Any, product: Any, engine: Any, clock: Any) -> None:
        with engine.begin() as conn:
            self.lic = issue_license(conn, product="acme", email="buyer@example.com", now=clock.now())
        self.app = app = Installation(client, product.public_key)
        app.check()
        clock.advance(minutes=10)
        app.check("/v1/activate", key=self.lic.key)
        self.device = app.device_id
        with engine.connect() as conn:
            self.machine = conn.execute(sa.select(devices.c.machine_id).where(devices.c.id == self.device)).scalar()


@pytest.fixture
def case(client: Any, product: Any, engine: Any, clock: Any) -> Case:
    return Case(client, product, engine, clock)


def _bearer(engine: Any, clock: Any, *scopes: str) -> dict[str, str]:
    with engine.begin() as conn:
        token = create_token(conn, name="support", scopes=list(scopes), now=clock.now(), created_by=None).token
    return {"Authorization": f"Bearer {token}"}


def _unescaped(field: str) -> str:
    """A field of the tab-separated report as it was (docs/evidence.md: backslash escapes)."""
    return re.sub(r"\\(.)", lambda m: {"t": "\t", "n": "\n", "r": "\r"}.get(m.group(1), m.group(1)), field)


def _audited(engine: Any) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(sa.select(audit_entries).where(audit_entries.c.action == "case_note.add")).all())


def test_notes_added_from_the_admin_pages_are_shown_kept_and_audited(
    case: Case, client: Any, engine: Any, clock: Any
) -> None:
    make_admin(engine, clock)
    sign_in(client)
    token = csrf_of(client)
    done = client.post(
        f"/admin/devices/{case.device}/notes", data={"csrf": token, "text": PIRATE_NOTE}, follow_redirects=False
    )
    # Post/redirect/get, the result in the sealed flash, never in the URL (web/flash.py).
    assert done.status_code == 303 and done.headers["location"] == f"/admin/devices/{case.device}"
    assert '<p class="flash ok" role="status">Note added.</p>' in client.get(done.headers["location"]).text
    client.post(f"/admin/devices/{case.device}/notes", data={"csrf": token, "on": "machine", "text": "Same office"})
    client.post(f"/admin/licenses/{case.lic.id}/notes", data={"csrf": token, "text": "Paid by wire, invoice 88"})
    refused = client.post(
        f"/admin/devices/{case.device}/notes", data={"csrf": token, "text": " \n "}, follow_redirects=False
    )
    assert refused.headers["location"] == f"/admin/devices/{case.device}"
    assert "Write the note first: it is empty." in client.get(refused.headers["location"]).text  # nothing written
    odd = client.post(f"/admin/devices/{case.device}/notes", data={"csrf": token, "on": "license", "text": "x"})
    assert "a note written on a device&#39;s page is on the installation or its machine" in odd.text
    forged = client.post(f"/admin/licenses/{case.lic.id}/notes", data={"csrf": "wrong", "text": "x"})
    assert forged.status_code == 403

    page = client.get(f"/admin/devices/{case.device}").text
    notes = page[page.index('id="notes"') : page.index("</section>", page.index('id="notes"'))]
    assert "lab clone" in notes and "<b>lab clone</b>" not in notes  # escaped, as everything typed
    assert "Same office" in notes and "on its machine" in notes and "ann@vendor.example" in notes
    assert 'id="add-note"' in notes and "Paid by wire" not in notes
    license_page = client.get(f"/admin/licenses/{case.lic.id}").text
    assert "Paid by wire, invoice 88" in license_page

    entries = _audited(engine)
    assert [e.details["on"] for e in entries] == ["device", "machine", "license"]
    assert {e.actor for e in entries} == {"admin:ann@vendor.example"}
    assert entries[1].details["machine"] == case.machine and entries[2].details["license_id"] == case.lic.id
    audit_page = client.get("/admin/audit").text
    assert "Wrote case note #" in audit_page and "Paid by wire, invoice 88" in audit_page


def test_a_viewer_reads_the_notes_but_cannot_add_one(case: Case, client: Any, engine: Any, clock: Any) -> None:
    from licentia.server.auth.accounts import create_admin

    with engine.begin() as conn:
        create_admin(conn, email="viewer@vendor.example", password=PASSWORD, role="viewer", actor="t", now=clock.now())
    sign_in(client, email="viewer@vendor.example")
    refused = client.post(f"/admin/licenses/{case.lic.id}/notes", data={"csrf": csrf_of(client), "text": "hi"})
    assert refused.status_code == 403 and _audited(engine) == []


def test_notes_through_the_developer_api(case: Case, client: Any, engine: Any, clock: Any) -> None:
    write, read = _bearer(engine, clock, "read", "write"), _bearer(engine, clock, "read")
    made = client.post(f"/v1/admin/devices/{case.device}/notes", json={"text": "Called them"}, headers=write)
    assert made.status_code == 201, made.text
    note = made.json()
    assert (note["on"], note["device_id"], note["author"], note["text"]) == (
        "device",
        case.device,
        "token:support",
        "Called them",
    )
    assert client.post(f"/v1/admin/machines/{case.machine}/notes", json={"text": "A"}, headers=write).status_code == 201
    assert client.post(f"/v1/admin/licenses/{case.lic.id}/notes", json={"text": "B"}, headers=write).status_code == 201
    listed = client.get(f"/v1/admin/devices/{case.device}/notes", headers=read).json()
    assert [n["text"] for n in listed] == ["Called them"]
    assert [n["text"] for n in client.get(f"/v1/admin/machines/{case.machine}/notes", headers=read).json()] == ["A"]
    assert [n["on"] for n in client.get(f"/v1/admin/licenses/{case.lic.id}/notes", headers=read).json()] == ["license"]

    def refused(path: str, body: Any, headers: dict[str, str]) -> tuple[int, str]:
        answer = client.post(path, json=body, headers=headers)
        return answer.status_code, answer.json()["error"]["code"]

    assert refused(f"/v1/admin/devices/{case.device}/notes", {"text": "x"}, read) == (403, "insufficient_scope")
    assert refused(f"/v1/admin/devices/{case.device}/notes", {"text": ""}, write) == (400, "invalid_note")
    assert refused(f"/v1/admin/devices/{case.device}/notes", {"text": "x" * 2001}, write) == (400, "invalid_note")
    assert refused(f"/v1/admin/devices/{case.device}/notes", {"text": 5}, write) == (422, "validation_error")
    assert refused("/v1/admin/devices/dv_nobody/notes", {"text": "x"}, write) == (404, "unknown_device")
    assert refused("/v1/admin/machines/m_nothing/notes", {"text": "x"}, write) == (404, "unknown_machine")
    assert refused("/v1/admin/licenses/99999/notes", {"text": "x"}, write) == (404, "unknown_license")
    assert [e.actor for e in _audited(engine)] == ["token:support"] * 3


def test_notes_from_the_cli_go_into_the_signed_report_which_still_verifies(
    case: Case, client: Any, engine: Any, clock: Any, migrated: Any, tmp_path: Path, monkeypatch: Any, capsys: Any
) -> None:
    monkeypatch.setenv("LICENTIA_SECRET_KEY", migrated.secret_key.get_secret_value())
    monkeypatch.setenv("USER", "operator")
    common = ["--data-dir", str(migrated.data_dir), "--database-url", migrated.database_url]

    def cli(*args: str, code: int = 0) -> str:
        capsys.readouterr()
        assert main([*args, *common]) == code
        out, err = capsys.readouterr()
        return out if code == 0 else err

    assert "case note #1 added to license" in cli(
        "evidence", "note", case.lic.key_prefix, "--text", "Refund asked\tby phone"
    )
    monkeypatch.setattr("sys.stdin", io.StringIO(PIRATE_NOTE))
    assert "added to device" in cli("evidence", "note", "--device", case.device, "--text", "-")
    assert "added to machine" in cli(
        "evidence", "note", "--machine", case.machine, "--text", "Lab clone of the office PC"
    )
    assert "needs" in cli("evidence", "note", "--device", case.device, code=1)  # no text
    assert "no machine 'm_nothing'" in cli("evidence", "note", "--machine", "m_nothing", "--text", "x", code=1)
    listed = cli("evidence", "notes", "--device", case.device).splitlines()
    assert len(listed) == 1 and listed[0].split("\t")[4] == PIRATE_NOTE.replace("\n", "\\n")
    assert cli("evidence", "notes", case.lic.key_prefix).split("\t")[4] == "Refund asked\\tby phone\n"
    assert {e.actor for e in _audited(engine)} == {"cli:operator"}

    out = tmp_path / "report.json"
    cli("evidence", case.lic.key_prefix, "--format", "json", "--output", str(out))
    with engine.connect() as conn:
        public_key = public_keys(conn, 1)[0]
    kid, key = load_public_key(public_key)
    report = verify_document(out.read_bytes(), {kid: key}, product="acme")
    notes = report["vendor_notes"]
    assert [(n["on"], n["author"]) for n in notes] == [
        ("license", "cli:operator"),
        ("device", "cli:operator"),
        ("machine", "cli:operator"),
    ]
    assert notes[1]["text"] == PIRATE_NOTE and notes[2]["machine_id"] == case.machine
    verified = cli("evidence", "verify", str(out), "--public-key", public_key)
    assert "genuine evidence report" in verified and "the vendor's case notes: 3" in verified

    tsv = tmp_path / "report.tsv"
    cli("evidence", "--device", case.device, "--format", "csv", "--output", str(tsv))
    rows = list(csv.DictReader(io.StringIO(tsv.read_text()), delimiter="\t", quoting=csv.QUOTE_NONE))
    noted = [r for r in rows if r["kind"] == "vendor_note"]
    assert len(noted) == 3 and all(r["event_id"] == "" for r in noted)  # the device's, its machine's, its license's
    assert rows[-len(noted) :] == noted  # after the events
    details = [json.loads(_unescaped(r["details"])) for r in noted]
    assert {d["on"]: d["text"] for d in details}["device"] == PIRATE_NOTE
    assert {d["author"] for d in details} == {"cli:operator"}
    page = tmp_path / "report.html"
    cli("evidence", "--device", case.device, "--format", "html", "--output", str(page))
    text = page.read_text()
    assert "The vendor's case notes" in text and "&lt;b&gt;lab clone&lt;/b&gt;" in text


def test_an_application_cannot_make_a_vendor_note(case: Case, client: Any, engine: Any, clock: Any) -> None:
    write = _bearer(engine, clock, "read", "write")
    client.post(f"/v1/admin/devices/{case.device}/notes", json={"text": "staff"}, headers=write)
    forged = case.app.call("/v1/events", events=[{"id": "n1", "kind": "vendor_note", "data": {"text": "I paid"}}])
    assert forged.status_code == 422  # not a kind an application reports
    # Words about itself an application may send stay its own event's data, never a vendor's note.
    sent = case.app.call("/v1/events", events=[{"id": "n2", "kind": "usage", "data": {"vendor_note": "I paid"}}])
    assert sent.status_code == 200, sent.text
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(case_notes)).scalar_one() == 1
    report = client.get(f"/v1/admin/devices/{case.device}/evidence?format=json", headers=write).json()
    assert [n["text"] for n in report["document"]["vendor_notes"]] == ["staff"]


def test_one_report_carries_the_notes_of_the_ui_the_api_and_the_cli_and_verifies(
    case: Case, client: Any, engine: Any, clock: Any, migrated: Any, monkeypatch: Any, capsys: Any, product: Any
) -> None:
    make_admin(engine, clock)
    sign_in(client)
    client.post(f"/admin/licenses/{case.lic.id}/notes", data={"csrf": csrf_of(client), "text": "from the page"})
    write = _bearer(engine, clock, "read", "write")
    client.post(f"/v1/admin/machines/{case.machine}/notes", json={"text": "from the API"}, headers=write)
    monkeypatch.setenv("LICENTIA_SECRET_KEY", migrated.secret_key.get_secret_value())
    monkeypatch.setenv("USER", "operator")
    args = ["--data-dir", str(migrated.data_dir), "--database-url", migrated.database_url]
    assert main(["evidence", "note", "--device", case.device, "--text", "from the CLI", *args]) == 0
    answer = client.get(f"/v1/admin/licenses/{case.lic.id}/evidence?format=json", headers=write)
    kid, key = load_public_key(product.public_key)
    report = verify_document(answer.content, {kid: key}, product="acme")
    assert [(n["author"], n["text"]) for n in report["vendor_notes"]] == [
        ("admin:ann@vendor.example", "from the page"),
        ("token:support", "from the API"),
        ("cli:operator", "from the CLI"),
    ]
    assert [e.actor for e in _audited(engine)] == ["admin:ann@vendor.example", "token:support", "cli:operator"]
