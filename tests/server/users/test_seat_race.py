"""Twenty people confirm their applications' sign-in at once against five user seats, through real workers.

PostgreSQL with three ``licentia serve`` workers and the SQLite file with two:
the seats are counted under the license's row lock (SQLite's write lock), as
machine seats are, so exactly five people get one and fifteen are told that
every seat is taken; their applications keep waiting.
"""

from __future__ import annotations

import concurrent.futures
import json
import threading
from typing import Any

import httpx
import pytest

from tests.conftest import LiveServer
from tests.server.admin_fixtures import form_token
from tests.server.helpers import auth, fingerprint
from tests.server.notify.conftest import SmtpServer
from tests.server.portal.conftest import sign_in as portal_sign_in

PEOPLE, SEATS = 20, 5


def _name_people(database_url: str, license_key: str, emails: list[str]) -> None:
    """The vendor names twenty people on the license, each to take a seat at their first sign-in."""
    import sqlalchemy as sa

    from licentia.core.clock import SystemClock
    from licentia.core.licensekeys import key_hash
    from licentia.server.store.engine import database_urls, make_sync_engine
    from licentia.server.store.tables import licenses
    from licentia.server.users.service import assign_user

    engine = make_sync_engine(database_urls(database_url), pool_size=1)
    try:
        with engine.begin() as conn:
            license_id = conn.execute(sa.select(licenses.c.id).where(licenses.c.key_hash == key_hash(license_key)))
            found = license_id.scalar_one()
            for email in emails:
                now = SystemClock().now()
                assign_user(conn, license_id=found, email=email, actor="admin:vendor@example.com", now=now, seat=False)
    finally:
        engine.dispose()


def _installation(url: str, i: int) -> tuple[dict[str, Any], dict[str, str], dict[str, Any]]:
    """Machine ``i``: its first check (the credential), then its sign-in grant."""
    body = {"product": "my-app", "fingerprint": fingerprint("my-app", machine=f"m{i}", disk=f"d{i}", mac=f"n{i}")}
    with httpx.Client(base_url=url, timeout=120) as http:
        first = http.post("/v1/check", json=body)
        assert first.status_code == 200, first.text
        credential = json.loads(first.content)["credential"]
        grant = http.post("/v1/device/authorize", json={"product": "my-app"}, headers=auth(credential))
        assert grant.status_code == 200, grant.text
    return body, credential, grant.json()


@pytest.mark.slow
def test_twenty_concurrent_sign_ins_never_seat_more_than_five_people(tmp_path, database_url):
    workers = 2 if database_url.startswith("sqlite") else 3
    smtp = SmtpServer().start()
    env = {
        "LICENTIA_SMTP_HOST": "127.0.0.1",
        "LICENTIA_SMTP_PORT": str(smtp.port),
        "LICENTIA_OUTBOX_POLL_SECONDS": "0.1",
        "LICENTIA_PORTAL_LINKS_PER_NETWORK_PER_HOUR": "100",
    }
    server = LiveServer(tmp_path / "server", database_url=database_url, workers=workers, env=env).start()
    browsers: list[httpx.Client] = []
    try:
        made = server.cli("policy", "create", "my-app", "Team", "--set", "seat_unit=user",
                          "--set", f"max_devices={SEATS}", "--set", "machines_per_user=1")  # fmt: skip
        assert made.returncode == 0, made.stderr
        issued = server.cli(
            "license", "issue", "--product", "my-app", "--email", "buyer@team.example", "--policy", "Team"
        )
        assert issued.returncode == 0, issued.stderr
        emails = [f"user{i}@team.example" for i in range(PEOPLE)]
        _name_people(
            server.database_url or f"sqlite:///{server.data_dir / 'licentia.db'}", issued.stdout.strip(), emails
        )
        with concurrent.futures.ThreadPoolExecutor(max_workers=10) as pool:
            apps = list(pool.map(lambda i: _installation(server.url, i), range(PEOPLE)))

        # Each person signs in to the portal and opens their application's code (one after the other)...
        for email in emails:
            browser = httpx.Client(base_url=server.url, timeout=120)
            browsers.append(browser)
            portal_sign_in(browser, smtp, email)
        pages = [b.get("/portal/device") for b in browsers]
        # ...then all of them confirm at the same moment.
        start = threading.Barrier(PEOPLE)

        def approve(i: int) -> httpx.Response:
            code = apps[i][2]["user_code"]
            start.wait(timeout=120)
            return browsers[i].post("/portal/device/approve", data={"csrf": form_token(pages[i].text), "code": code})

        with concurrent.futures.ThreadPoolExecutor(max_workers=PEOPLE) as pool:
            answers = list(pool.map(approve, range(PEOPLE)))
        signed_in = [i for i, a in enumerate(answers) if "You are signed in" in a.text]
        assert len(signed_in) == SEATS, [a.status_code for a in answers]
        refused = [a for i, a in enumerate(answers) if i not in signed_in]
        assert all(a.status_code == 409 and 'data-code="no_user_seat"' in a.text for a in refused)

        # The five applications get their status naming their person; the others keep waiting.
        with httpx.Client(base_url=server.url, timeout=120) as http:
            for i, (body, credential, grant) in enumerate(apps):
                polled = http.post("/v1/device/token", json={**body, "device_code": grant["device_code"]},
                                   headers=auth(credential))  # fmt: skip
                if i in signed_in:
                    assert polled.status_code == 200, polled.text
                    assert json.loads(polled.content)["signed"]["document"]["user"] == emails[i]
                else:
                    assert polled.json()["error"]["code"] == "authorization_pending"
    finally:
        for browser in browsers:
            browser.close()
        server.stop()
        smtp.stop()
