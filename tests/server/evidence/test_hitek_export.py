"""The Hitek-compatible export loads back column by column: 50 columns in Hitek's order and names, every
fact of a device as recorded, the case notes in the comment columns, ``primkey`` the external IP and date.
From the CLI and from the admin UI, both databases."""

from __future__ import annotations

import csv
import io
from typing import Any

import sqlalchemy as sa

from licentia.core.clock import to_iso
from licentia.core.facts import FACT_NAMES
from licentia.server.cli import main
from licentia.server.evidence.notes import NoteOn, add_note
from licentia.server.licenses.service import issue_license
from licentia.server.products.changes import change_privacy
from licentia.server.store.tables import devices, events
from tests.server.admin_fixtures import make_admin, sign_in
from tests.server.helpers import Installation, auth

HITEK_COLUMNS = [
    *("mode", "product", "version", "machine", "key"),
    *FACT_NAMES,
    *(f"author_{n}" for n in range(1, 11)),
    *(f"tracker_{n}" for n in range(1, 11)),
    *("received", "server_tz", "external_ip", "reverse_host"),
    *("legal1", "legal2", "legal3", "hitek1", "hitek2", "hitek3", "hitek4", "hitek5", "primkey"),
]
# Every fact set; what a user typed may hold tabs and line breaks, which must not break a row.
FACTS: dict[str, Any] = {name: f"{name}-value" for name in FACT_NAMES}
FACTS |= {"user_name": "Ann\tSmith", "registered_organization": "Lab\r\nNorth"}
FACTS |= {f"author_{n}": f"form field {n}" for n in range(1, 11)} | {f"tracker_{n}": f"t{n}" for n in range(1, 11)}
FACTS |= {"author_3": "=HYPERLINK(evil)"}  # a spreadsheet's formula is never run


def _loaded(text: str) -> list[dict[str, str]]:
    """The export as a loader reads it: tab-delimited, one row a line, no quoting."""
    lines = text.split("\n")
    assert lines[-1] == "" and all("\r" not in line for line in lines)
    rows = list(csv.reader(io.StringIO(text), delimiter="\t", quoting=csv.QUOTE_NONE))
    assert rows[0] == HITEK_COLUMNS and len(rows[0]) == 50
    assert all(len(row) == 50 for row in rows)
    return [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]


def _device_with_every_fact(client: Any, product: Any, engine: Any, clock: Any) -> tuple[Installation, Any]:
    with engine.begin() as conn:
        change_privacy(conn, product_id=product.id, collect_facts=True, retention_days=365, actor="t", now=clock.now())
        lic = issue_license(conn, product="acme", email="buyer@example.com", now=clock.now())
    app = Installation(client, product.public_key)
    app.check(app_version="4.2")
    app.check("/v1/activate", key=lic.key, app_version="4.2")
    for n, kind in enumerate(("install", "register", "usage")):
        clock.advance(minutes=5)
        posted = [{"id": f"e{n}", "kind": kind, "facts": FACTS}]
        answer = client.post("/v1/events", json={"events": posted}, headers=auth(app.credential or {}))
        assert answer.status_code == 200 and answer.json()["accepted"] == 1, answer.text
    with engine.begin() as conn:
        # The reverse host name is filled in by a lookup after the request (evidence.reverse_dns).
        for row in conn.execute(sa.select(events.c.id, events.c.server_facts).where(events.c.kind == "usage")):
            facts = {**row.server_facts, "reverse_host": "pc7.lab.example.net"}
            conn.execute(events.update().where(events.c.id == row.id).values(server_facts=facts))
        machine = conn.execute(sa.select(devices.c.machine_id)).scalar_one()
        notes = [(NoteOn.LICENSE, lic.id), (NoteOn.DEVICE, app.device_id), (NoteOn.MACHINE, machine)] * 3
        for n, (on, subject) in enumerate(notes, start=1):
            clock.advance(minutes=1)
            add_note(conn, on=on, subject=subject, text=f"note {n}\twith\na break", actor="admin:ann", now=clock.now())
    return app, lic


def test_the_export_loads_back_column_by_column(
    client: Any, product: Any, engine: Any, clock: Any, migrated: Any, monkeypatch: Any, capsys: Any
) -> None:
    app, lic = _device_with_every_fact(client, product, engine, clock)
    monkeypatch.setenv("LICENTIA_DATABASE_URL", migrated.resolved_database_url)
    monkeypatch.setenv("LICENTIA_SECRET_KEY", migrated.secret_key.get_secret_value())
    capsys.readouterr()
    assert main(["export", "--format", "hitek", "--product", "acme", "--data-dir", str(migrated.data_dir)]) == 0
    rows = _loaded(capsys.readouterr().out)

    with engine.connect() as conn:
        modes = events.c.kind.in_(["install", "register", "usage"])
        posts = conn.execute(sa.select(events.c.kind).where(modes).order_by(events.c.id)).scalars()
        assert [row["mode"] for row in rows] == list(posts)  # one row a post, in order
    usage = rows[-1]
    assert usage["mode"] == "usage"
    assert (usage["product"], usage["version"], usage["machine"]) == ("acme", "4.2", app.device_id)
    assert usage["key"] == lic.key[:5] and lic.key not in str(rows)  # the key's prefix, never the key
    for name in FACT_NAMES:  # as recorded, tabs and line breaks turned to spaces
        assert usage[name] == FACTS[name].replace("\r\n", " ").replace("\t", " "), name
    assert usage["user_name"] == "Ann Smith" and usage["registered_organization"] == "Lab North"
    assert [usage[f"author_{n}"] for n in (1, 2, 10)] == ["form field 1", "form field 2", "form field 10"]
    assert usage["author_3"] == "'=HYPERLINK(evil)"
    assert [usage[f"tracker_{n}"] for n in range(1, 11)] == [f"t{n}" for n in range(1, 11)]

    with engine.connect() as conn:
        stored = conn.execute(sa.select(events).where(events.c.kind == "usage")).one()
    received = stored.received_at.strftime("%Y-%m-%d %H:%M:%S")
    assert usage["received"] == received and to_iso(stored.received_at).startswith(received.replace(" ", "T"))
    assert usage["external_ip"] == stored.server_facts["external_ip"] != ""
    assert usage["server_tz"] == stored.server_facts["server_tz"]
    assert usage["reverse_host"] == "pc7.lab.example.net" and rows[-2]["reverse_host"] == ""
    assert usage["primkey"] == f"{usage['external_ip']} {received}"

    # The vendor's nine case notes, oldest first: legal1-3, hitek1-5, the ninth added to hitek5.
    comments = [usage[c] for c in ("legal1", "legal2", "legal3", "hitek1", "hitek2", "hitek3", "hitek4", "hitek5")]
    assert [c.split(": ", 1)[1] for c in comments[:7]] == [f"note {n} with a break" for n in range(1, 8)]
    assert comments[0].endswith("admin:ann: note 1 with a break") and comments[0][:4].isdigit()
    assert comments[7].endswith("note 8 with a break | " + comments[7].split(" | ")[1]) and "note 9" in comments[7]
    assert {row["legal1"] for row in rows} == {usage["legal1"]}  # every post of the device carries its case


def test_the_admin_ui_exports_the_same_file(client: Any, product: Any, engine: Any, clock: Any) -> None:
    _device_with_every_fact(client, product, engine, clock)
    make_admin(engine, clock)
    sign_in(client)
    page = client.get(f"/admin/products/{product.id}").text
    assert f'href="/admin/products/{product.id}/export.hitek"' in page
    exported = client.get(f"/admin/products/{product.id}/export.hitek")
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/tab-separated-values")
    assert 'filename="acme-hitek.txt"' in exported.headers["content-disposition"]
    rows = _loaded(exported.text)
    assert (
        rows[-1]["mode"] == "usage"
        and rows[-1]["user_name"] == "Ann Smith"
        and rows[-1]["hitek1"].endswith("note 4 with a break")
    )
    assert client.get("/admin/products/99999/export.hitek").status_code == 404
