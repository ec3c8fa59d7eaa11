"""The SDK signs its user in by the device flow (RFC 8628), end to end against a real ``licentia serve``.

The application polls (``finish_sign_in``, on a thread) while a test "person"
signs in to the portal by the link emailed to them (a real SMTP server) and
confirms the code the application shows, as a browser would post the forms.
"""

from __future__ import annotations

import concurrent.futures
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from licentia.client import Licentia, ServerRefused
from tests.client.conftest import FakeMachine
from tests.conftest import LiveServer
from tests.server.admin_fixtures import form_token
from tests.server.notify.conftest import SmtpServer
from tests.server.portal.conftest import sign_in as portal_sign_in

LEAD = "lead@team.example"


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[LiveServer, SmtpServer]]:
    """A real server emailing to a real SMTP server; the product ``my-app`` sells "Team": 2 users, 2 machines each."""
    smtp = SmtpServer().start()
    env = {
        "LICENTIA_SMTP_HOST": "127.0.0.1",
        "LICENTIA_SMTP_PORT": str(smtp.port),
        "LICENTIA_OUTBOX_POLL_SECONDS": "0.1",
        "LICENTIA_DEVICE_POLL_SECONDS": "1",
    }
    server = LiveServer(tmp_path / "server", env=env).start()
    try:
        made = server.cli("policy", "create", "my-app", "Team", "--set", "seat_unit=user", "--set", "max_devices=2",
                          "--set", "machines_per_user=2")  # fmt: skip
        assert made.returncode == 0, made.stderr
        issued = server.cli("license", "issue", "--product", "my-app", "--email", LEAD, "--policy", "Team")
        assert issued.returncode == 0, issued.stderr
        yield server, smtp
    finally:
        server.stop()
        smtp.stop()


def application(server: LiveServer, tmp_path: Path, name: str) -> Licentia:
    machine = FakeMachine(tmp_path / f"machine-{name}")
    return Licentia(server.url, "my-app", server.public_key(), tmp_path / f"data-{name}", fingerprint_root=machine.root)


def confirm(browser: httpx.Client, link: str, *, approve: bool = True) -> httpx.Response:
    """What the person does in the browser: open the application's link, continue, then approve or refuse."""
    page = browser.get(link[link.index("/portal/") :])
    code = page.text.split('name="code" value="', 1)[1].split('"', 1)[0]
    shown = browser.post("/portal/device", data={"csrf": form_token(page.text), "code": code})
    assert "Sign in as" in shown.text and 'id="machine"' in shown.text, shown.text
    action = "approve" if approve else "deny"
    return browser.post(f"/portal/device/{action}", data={"csrf": form_token(shown.text), "code": code})


def seats_held(server: LiveServer) -> list[str]:
    with sqlite3.connect(server.data_dir / "licentia.db", timeout=30) as db:
        return [r[0] for r in db.execute("SELECT email FROM license_users WHERE freed_at IS NULL")]


def test_an_application_signs_its_user_in_and_the_status_names_them_offline_too(served: Any, tmp_path: Path) -> None:
    server, smtp = served
    lic = application(server, tmp_path, "laptop")
    assert lic.check().user is None
    code = lic.begin_sign_in()
    assert len(code.user_code) == 9 and code.verification_uri.endswith("/portal/device")
    assert "device_code" not in repr(code)
    with concurrent.futures.ThreadPoolExecutor(1) as pool, httpx.Client(base_url=server.url, timeout=30) as browser:
        waiting = pool.submit(lic.finish_sign_in, code, timeout=60)  # the application polls meanwhile
        portal_sign_in(browser, smtp, LEAD)
        assert "You are signed in" in confirm(browser, code.verification_uri_complete).text
        status = waiting.result(timeout=60)
    assert (status.state, status.user, status.allowed) == ("registered", LEAD, True)
    offline = lic.check(online=False)
    assert (offline.state, offline.user) == ("registered", LEAD)
    assert lic.check().user == LEAD

    # The same person on a second machine: signed in there too, still one seat.
    desktop = application(server, tmp_path, "desktop")
    desktop.check()
    again = desktop.begin_sign_in()
    with concurrent.futures.ThreadPoolExecutor(1) as pool, httpx.Client(base_url=server.url, timeout=30) as browser:
        waiting = pool.submit(desktop.finish_sign_in, again, timeout=60)
        portal_sign_in(browser, smtp, LEAD, nth=2)
        confirm(browser, again.verification_uri_complete)
        assert waiting.result(timeout=60).user == LEAD
    assert seats_held(server) == [LEAD]


def test_a_refused_sign_in_is_access_denied_and_the_app_stays_as_it_was(served: Any, tmp_path: Path) -> None:
    server, smtp = served
    lic = application(server, tmp_path, "laptop")
    lic.check()
    code = lic.begin_sign_in()
    with concurrent.futures.ThreadPoolExecutor(1) as pool, httpx.Client(base_url=server.url, timeout=30) as browser:
        waiting = pool.submit(lic.finish_sign_in, code, timeout=60)
        portal_sign_in(browser, smtp, LEAD)
        confirm(browser, code.verification_uri_complete, approve=False)
        with pytest.raises(ServerRefused) as refused:
            waiting.result(timeout=60)
    assert refused.value.code == "access_denied"
    assert lic.check().state == "trial" and seats_held(server) == []
