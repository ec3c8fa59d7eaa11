"""The vendor names, frees and moves people on a user license: developer API, admin UI and CLI, audited, announced."""

from __future__ import annotations

import datetime as dt
import html
import json
import subprocess
import sys
from typing import Any

import sqlalchemy as sa

from tests.server.admin_fixtures import csrf_of, make_admin
from tests.server.admin_fixtures import sign_in as admin_sign_in
from tests.server.test_transfer_overrides import bearer
from tests.server.users.conftest import app, sign_in

ANN, BOB, CAT = "ann@team.example", "bob@team.example", "cat@team.example"


def audited(engine: Any) -> list[tuple[str, str, dict[str, Any]]]:
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT actor, action, details FROM audit_entries WHERE action LIKE 'license.user%' ORDER BY id")
        ).all()
    return [(r.actor, r.action, r.details if isinstance(r.details, dict) else json.loads(r.details)) for r in rows]


def webhook_topics(engine: Any) -> list[str]:
    with engine.connect() as conn:
        return list(conn.execute(sa.text("SELECT topic FROM outbox WHERE channel = 'webhook' ORDER BY id")).scalars())


def listen(engine: Any, clock: Any, migrated: Any) -> None:
    from licentia.server.notify.webhook_specs import WebhookSpec
    from licentia.server.notify.webhooks import create_webhook

    spec = WebhookSpec(url="https://hooks.vendor.example/licentia", events=[], product="acme")
    with engine.begin() as conn:
        create_webhook(conn, spec, now=clock.now(), fernet=migrated.fernet())


def test_the_developer_api_names_frees_and_moves_people_and_webhooks_tell(
    client, product, engine, clock, team, migrated
):
    listen(engine, clock, migrated)
    reader, writer = bearer(engine, clock, "read"), bearer(engine, clock, "write")
    path = f"/v1/admin/licenses/{team.id}/users"
    assert client.get(f"/v1/admin/licenses/{team.id}", headers=reader).json()["seat_unit"] == "user"
    assert client.post(path, json={"email": ANN}, headers=reader).status_code == 403
    named = client.post(path, json={"email": ANN}, headers=writer)
    assert named.status_code == 200 and [u["email"] for u in named.json()["users"]] == [ANN]
    later = client.post(path, json={"email": BOB, "seat": False}, headers=writer).json()["users"]
    assert [(u["email"], u["seated_at"] is None) for u in later] == [(ANN, False), (BOB, True)]
    laptop = app(client, product, 1)
    sign_in(engine, clock, laptop, ANN)
    assert client.get(path, headers=reader).json()["users"][0]["machines"] == [laptop.check()["machine"]]
    moved = client.post(f"{path}/reassign", json={"email": ANN, "to": CAT}, headers=writer)
    assert moved.status_code == 200 and {u["email"] for u in moved.json()["users"]} == {BOB, CAT}
    assert laptop.check()["user"] is None  # Ann's machine left with her seat
    freed = client.post(f"{path}/free", json={"email": CAT, "reason": "left"}, headers=writer)
    assert [u["email"] for u in freed.json()["users"]] == [BOB]
    gone = client.post(f"{path}/free", json={"email": CAT}, headers=writer)
    assert gone.status_code == 404 and gone.json()["error"]["code"] == "unknown_user"
    bad = client.post(path, json={"email": "not an email"}, headers=writer)
    assert bad.status_code == 422
    actions = [(actor, action, details.get("email")) for actor, action, details in audited(engine)]
    assert actions == [
        ("token:writeer", "license.user_assign", ANN),
        ("token:writeer", "license.user_assign", BOB),
        ("token:writeer", "license.user_reassign", ANN),
        ("token:writeer", "license.user_free", CAT),
    ]
    topics = [t for t in webhook_topics(engine) if t.startswith("license.user")]
    # Ann took a seat, Bob none yet (named only), Ann's went to Cat, Cat's was freed.
    assert topics == ["license.user_assigned", "license.user_freed", "license.user_assigned", "license.user_freed"]


def test_a_machine_license_has_no_users(client, product, engine, clock):
    from tests.server.portal.conftest import issue

    lic = issue(engine, clock, ANN)
    answer = client.get(f"/v1/admin/licenses/{lic.id}/users", headers=bearer(engine, clock, "read"))
    assert answer.status_code == 409 and answer.json()["error"]["code"] == "not_user_license"


def test_the_admin_license_page_lists_people_and_staff_free_and_move_them(client, product, engine, clock, team):
    make_admin(engine, clock)
    admin_sign_in(client)
    base = f"/admin/licenses/{team.id}"
    assert 'id="users"' in client.get(base).text
    done = client.post(f"{base}/users", data={"email": ANN, "when": "now", "csrf": csrf_of(client)})
    assert done.status_code == 200 and f"{ANN} holds a seat." in done.text
    section = client.get(f"{base}/users").text
    assert ANN in section and "1 of 2 seats held" in section
    forged = client.post(f"{base}/users/free", data={"email": ANN, "csrf": "nope"})
    assert forged.status_code == 403
    moved = client.post(f"{base}/users/reassign", data={"email": ANN, "to": BOB, "csrf": csrf_of(client)})
    assert f"{ANN}'s seat now belongs to {BOB}." in html.unescape(moved.text)
    freed = client.post(f"{base}/users/free", data={"email": BOB, "reason": "left", "csrf": csrf_of(client)})
    assert f"{BOB}'s seat is free" in html.unescape(freed.text)
    refused = client.post(f"{base}/users/free", data={"email": BOB, "csrf": csrf_of(client)})
    assert "is not named on this license" in refused.text
    assert [action for _, action, _ in audited(engine)] == ["license.user_assign", "license.user_reassign",
                                                            "license.user_free"]  # fmt: skip
    assert "Freed the user seat" in client.get("/admin/audit").text


def test_the_cli_names_lists_frees_and_moves_people(client, product, engine, clock, team, migrated, tmp_path):
    clock.set(dt.datetime.now(dt.UTC))  # the CLI counts on the real clock
    opts = ["--database-url", migrated.resolved_database_url, "--data-dir", str(tmp_path / "cli")]

    def run(*args: str, code: int = 0) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "licentia", "license", *args, *opts],
            capture_output=True, text=True, timeout=300, check=False,
        )  # fmt: skip
        assert done.returncode == code and "Traceback" not in done.stderr, done.stderr
        return done.stdout if code == 0 else done.stderr

    assert f"{ANN} holds a seat" in run("add-user", str(team.id), ANN)
    assert "first sign-in" in run("add-user", team.key, BOB, "--at-sign-in")
    listed = run("users", str(team.id))
    assert "1 of the named people hold a seat" in listed and f"{BOB}\tno seat yet" in listed
    assert f"now belongs to {CAT}" in run("move-user", str(team.id), ANN, CAT)
    assert "seat is free" in run("free-user", str(team.id), CAT, "--reason", "left")
    assert [u["email"] for u in json.loads(run("users", str(team.id), "--json"))] == [BOB]
    assert "not named on this license" in run("free-user", str(team.id), CAT, code=1)
    assert {actor[:4] for actor, _, _ in audited(engine)} == {"cli:"}
