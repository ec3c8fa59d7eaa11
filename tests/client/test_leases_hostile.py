"""Leases against a hostile server (or anyone on the path): only documented errors, nothing granted,
and a heartbeat thread that never raises into the application."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

import pytest

from licentia.client import ConfigurationError, InvalidAnswer, InvalidKey, Licentia, Offline, ServerRefused
from licentia.client.lease_documents import LEASE_FILE
from licentia.core.licensekeys import generate_key
from tests.client.conftest import FakeMachine, app
from tests.client.hostile import ANSWERS, hostile_server, url_of
from tests.client.test_leases import issue_floating
from tests.conftest import LiveServer

DOCUMENTED = {ConfigurationError, InvalidKey, Offline, InvalidAnswer, ServerRefused}
TIMEOUT = 0.5


@pytest.mark.parametrize("mode", sorted(ANSWERS))
def test_checkout_heartbeat_and_release_raise_only_documented_errors(
    mode: str, server: LiveServer, machine: FakeMachine, tmp_path: Path
) -> None:
    app(server, tmp_path / "data", machine).check()  # a genuine credential, so the calls reach the lease API
    with hostile_server() as hostile:
        hostile.mode = mode
        lic = Licentia(
            url_of(hostile), "my-app", server.public_key(), tmp_path / "data", fingerprint_root=machine.root,
            timeout=TIMEOUT,
        )  # fmt: skip
        for call in (
            lambda: lic.checkout(generate_key()),
            lambda: lic.checkout(generate_key(), borrow_days=2),
        ):
            started = time.monotonic()
            with pytest.raises(tuple(DOCUMENTED)) as raised:
                call()
            assert type(raised.value) in DOCUMENTED
            assert time.monotonic() - started < 3 * TIMEOUT + 1.5
    assert not (tmp_path / "data" / LEASE_FILE).exists()  # nothing unverified is kept


def test_a_heartbeat_thread_facing_a_hostile_server_never_raises_and_grants_no_more(
    server: LiveServer,
    machine: FakeMachine,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    lic = app(server, tmp_path / "data", machine)
    lease = lic.checkout(issue_floating(server), heartbeats=False)
    ends = lease.expires_at
    errors: list[BaseException | None] = []
    threading.excepthook = lambda info: errors.append(info.exc_value)
    try:
        with hostile_server() as hostile, caplog.at_level(logging.WARNING):
            lic.transport.server_url = url_of(hostile)
            lease.start_heartbeats(every=0.05)
            for mode in ("forged", "wrong_types", "garbage", "nested", "truncated", "error_wrong_types"):
                hostile.mode = mode
                time.sleep(0.4)
                assert lease.state in ("active", "lost") and lease.expires_at == ends, mode
        lease._stop.set()
    finally:
        threading.excepthook = threading.__excepthook__
    assert not errors
    assert lease.error is not None  # the application can see why
