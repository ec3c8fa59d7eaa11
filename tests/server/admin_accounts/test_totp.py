"""A TOTP second factor: enrolment, sign-in with a code or a recovery code, replay and guessing refused.

Codes are computed with pyotp from the key the enrolment page shows, at the
server's (test) clock.
"""

from __future__ import annotations

import re
from typing import Any

import pyotp
import sqlalchemy as sa

from licentia.server.cli import main
from licentia.server.store.models import AdminSession, AdminUser, table_of
from tests.server.admin_fixtures import EMAIL, PASSWORD, form_token, make_admin, sign_in

users = table_of(AdminUser)
sessions = table_of(AdminSession)


def enrol(client: Any, clock: Any) -> tuple[pyotp.TOTP, list[str]]:
    page = client.get("/admin/account")
    client.post("/admin/account/totp/start", data={"csrf": form_token(page.text)})
    page = client.get("/admin/account")
    assert 'src="data:image/svg+xml;base64,' in page.text  # the QR code
    secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', page.text).group(1)  # type: ignore[union-attr]
    totp = pyotp.TOTP(secret)
    wrong = client.post("/admin/account/totp/confirm", data={"csrf": form_token(page.text), "code": "000000"})
    assert "that code is wrong" in wrong.text
    done = client.post(
        "/admin/account/totp/confirm", data={"csrf": form_token(page.text), "code": totp.at(clock.now())}
    )
    assert "Two-step sign-in is on." in done.text
    codes = re.findall(r"<li><code>([0-9a-f]{6}-[0-9a-f]{6})</code></li>", done.text)
    assert len(codes) == 10
    return totp, codes


def code_step(client: Any, code: str) -> Any:
    page = client.get("/admin/signin/code")
    return client.post("/admin/signin/code", data={"csrf": form_token(page.text), "code": code, "next": "/admin"},
                       follow_redirects=False)  # fmt: skip


def test_enrol_then_sign_in_asks_for_the_code(client, engine, clock, product, settings):
    make_admin(engine, clock)
    sign_in(client)
    totp, _codes = enrol(client, clock)
    with engine.connect() as conn:
        row = conn.execute(sa.select(users).where(users.c.email == EMAIL)).one()
    assert totp.secret not in str(row.totp_sealed) and row.totp_enabled_at is not None  # sealed at rest
    assert all(h.startswith("$argon2id$") for h in row.recovery_hashes)

    client.cookies.clear()
    answer = sign_in(client)
    assert answer.status_code == 303 and answer.headers["location"].startswith("/admin/signin/code")
    # The password alone reaches no page.
    assert client.get("/admin/devices", follow_redirects=False).status_code == 303
    assert code_step(client, "123456").status_code == 401
    # The enrolment's own code is used up: the next step's code signs in.
    clock.advance(seconds=30)
    done = code_step(client, totp.at(clock.now()))
    assert done.status_code == 303 and done.headers["location"] == "/admin"
    assert client.get("/admin/devices").status_code == 200
    with engine.connect() as conn:
        waiting = sa.select(sa.func.count()).where(sessions.c.awaiting_code.is_(True))
        assert conn.execute(waiting).scalar() == 0  # the waiting session was replaced, never promoted

    # The same code once more (seen over a shoulder) is refused.
    client.cookies.clear()
    sign_in(client)
    assert code_step(client, totp.at(clock.now())).status_code == 401


def test_a_recovery_code_works_once_and_guessing_locks_the_account(client, engine, clock, product):
    make_admin(engine, clock)
    sign_in(client)
    _totp, codes = enrol(client, clock)
    client.cookies.clear()
    sign_in(client)
    assert code_step(client, codes[0]).status_code == 303
    client.cookies.clear()
    sign_in(client)
    assert code_step(client, codes[0]).status_code == 401  # used up
    for _ in range(4):
        code_step(client, "111111")
    # Five wrong answers: locked, even with the right recovery code.
    assert code_step(client, codes[1]).status_code in (401, 303)
    with engine.connect() as conn:
        assert conn.execute(sa.select(users.c.locked_until)).scalar() is not None


def test_turning_off_needs_a_current_code_and_an_owner_or_the_cli_can_reset(client, engine, clock, product, migrated):
    make_admin(engine, clock)
    sign_in(client)
    totp, _ = enrol(client, clock)
    page = client.get("/admin/account")
    refused = client.post("/admin/account/totp/off", data={"csrf": form_token(page.text), "code": "000000"})
    assert "wrong or was already used" in refused.text
    clock.advance(seconds=30)
    done = client.post("/admin/account/totp/off", data={"csrf": form_token(page.text), "code": totp.at(clock.now())})
    assert "Two-step sign-in is off." in done.text
    # Enrolled again, then a lost phone: the operator resets it from the CLI.
    enrol(client, clock)
    db = ["--database-url", migrated.resolved_database_url, "--data-dir", str(migrated.data_dir)]
    assert main(["admin", "reset-totp", EMAIL, *db]) == 0
    assert client.get("/admin/account", follow_redirects=False).status_code == 303  # sessions closed
    assert sign_in(client).headers["location"] == "/admin"  # the password alone again
    assert main(["admin", "role", EMAIL, "viewer", *db]) == 1  # the last owner stays


def test_cli_creates_admins_with_roles_and_lists_them(engine, migrated, capsys):
    db = ["--database-url", migrated.resolved_database_url, "--data-dir", str(migrated.data_dir)]
    import io
    import sys

    for email, role in (("o@vendor.example", "owner"), ("v@vendor.example", "viewer")):
        sys.stdin = io.StringIO(PASSWORD + "\n")
        try:
            assert main(["admin", "create", email, "--role", role, "--password-stdin", *db]) == 0
        finally:
            sys.stdin = sys.__stdin__
    assert main(["admin", "role", "v@vendor.example", "staff", *db]) == 0
    assert main(["admin", "list", *db]) == 0
    out = capsys.readouterr().out
    assert "o@vendor.example  owner  active  two-step off" in out and "v@vendor.example  staff" in out
    assert main(["admin", "disable", "o@vendor.example", *db]) == 1
    assert "last owner" in capsys.readouterr().err
