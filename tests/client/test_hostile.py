"""Every public SDK method against hostile answers and hostile local files.

The promise under test: whatever the network or the data directory holds, the
SDK raises nothing but its documented ``LicentiaError`` subclasses, never
grants more than a document signed with the pinned key says, and an
application that checks at start-up starts while the server is reachable.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from licentia.client import (
    ConfigurationError,
    InvalidAnswer,
    InvalidKey,
    Licentia,
    LicentiaError,
    Offline,
    ServerRefused,
    Status,
)
from licentia.client.events import QUEUE_FILE
from licentia.client.state import STATE_FILE
from licentia.core.licensekeys import generate_key
from tests.client.conftest import FakeMachine, app, read_state, write_state
from tests.client.hostile import ANSWERS, hostile_server, url_of
from tests.conftest import LiveServer

DOCUMENTED = {ConfigurationError, InvalidKey, Offline, InvalidAnswer, ServerRefused}
TIMEOUT = 0.5


def drive_every_method(lic: Licentia) -> list[Status]:
    """Call each public method once; return the statuses; fail on any undocumented error."""
    statuses: list[Status] = []
    calls: dict[str, Callable[[], Any]] = {
        "check": lambda: statuses.append(lic.check()),
        "check offline": lambda: statuses.append(lic.check(online=False)),
        "activate": lambda: statuses.append(lic.activate(generate_key())),
        "deactivate": lambda: statuses.append(lic.deactivate()),
        "latest_release": lic.latest_release,
        "feedback": lambda: lic.feedback("it crashed"),
        "uninstall": lic.uninstall,
        "flush": lambda: lic.flush(timeout=TIMEOUT),
        "credential": lic.credential,
        "values.get": lambda: lic.values.get("theme"),
        "values.set": lambda: lic.values.set("theme", "dark"),
        "fingerprint": lic.fingerprint,
        "facts": lic.facts,
        "opt_out_of_facts": lic.opt_out_of_facts,
    }
    for name, call in calls.items():
        started = time.monotonic()
        try:
            result = call()
        except LicentiaError as exc:
            assert type(exc) in DOCUMENTED, (name, exc)
        else:
            if name == "latest_release" and result is not None:
                assert all(isinstance(v, str | bool | int | None) for v in result.values()), result
        # The SDK's timeout bounds every call (flush retries within its own).
        assert time.monotonic() - started < 3 * TIMEOUT + 1.5, name
    return statuses


@pytest.mark.parametrize("mode", sorted(ANSWERS))
def test_hostile_answers_raise_only_documented_errors_and_grant_nothing(
    mode: str, machine: FakeMachine, tmp_path: Path
) -> None:
    with hostile_server() as hostile:
        hostile.mode = mode
        lic = Licentia(
            url_of(hostile), "my-app", _pinned_key(), tmp_path / "data", fingerprint_root=machine.root, timeout=TIMEOUT
        )
        statuses = drive_every_method(lic)
    assert statuses and not any(s.allowed for s in statuses)
    assert not (tmp_path / "data" / STATE_FILE).exists() or "dv_forged" not in (
        tmp_path / "data" / STATE_FILE
    ).read_text(errors="replace")


def test_a_release_shows_only_its_known_fields_and_never_a_link_but_https(machine: FakeMachine, tmp_path: Path) -> None:
    with hostile_server() as hostile:
        hostile.mode = "release_links"
        lic = Licentia(url_of(hostile), "my-app", _pinned_key(), tmp_path / "data", fingerprint_root=machine.root)
        assert lic.latest_release() == {"version": "9.9", "channel": "stable", "download_url": None}


@pytest.mark.parametrize("mode", ["forged", "wrong_types", "nested", "truncated"])
def test_a_genuine_trial_stays_a_trial_whatever_a_hostile_server_answers(
    mode: str, server: LiveServer, machine: FakeMachine, tmp_path: Path
) -> None:
    genuine = app(server, tmp_path / "data", machine).check()
    assert genuine.allowed and genuine.state == "trial"
    with hostile_server() as hostile:
        hostile.mode = mode
        lic = Licentia(
            url_of(hostile), "my-app", server.public_key(), tmp_path / "data", fingerprint_root=machine.root,
            timeout=TIMEOUT,
        )  # fmt: skip
        statuses = drive_every_method(lic)
    for status in statuses:
        assert status.state in {"trial", "unknown"} and status.features == () and not status.online, status
        assert status.device in {genuine.device, None}


def test_the_cli_answers_hostile_servers_in_one_line(machine: FakeMachine, tmp_path: Path) -> None:
    with hostile_server() as hostile:
        for mode in ("nested", "wrong_types", "truncated", "garbage"):
            hostile.mode = mode
            for command in (["check"], ["activate", generate_key()], ["deactivate"], ["flush"], ["feedback", "x"]):
                done = subprocess.run(
                    [sys.executable, "-m", "licentia.client", *command, "--server", url_of(hostile),
                     "--product", "my-app", "--public-key", _pinned_key(), "--timeout", str(TIMEOUT),
                     "--data-dir", str(tmp_path / "cli"), "--fingerprint-root", str(machine.root)],
                    capture_output=True, text=True, timeout=60, check=False,
                )  # fmt: skip
                assert done.returncode in ((0, 1) if command == ["flush"] else (1,)), (mode, command, done)
                assert "Traceback" not in done.stderr and done.stderr.count("\n") <= 1, (mode, command, done.stderr)


# -- hostile local files ------------------------------------------------------------


def _garbage(path: Path) -> None:
    path.write_bytes(os.urandom(4096))


def _truncated(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: max(1, path.stat().st_size // 3)])


def _directory(path: Path) -> None:
    path.unlink()
    (path / "inside").mkdir(parents=True)


def _nested(path: Path) -> None:
    path.write_bytes(b"[" * 100_000 + b"]" * 100_000)


def _huge(path: Path) -> None:
    path.write_bytes(b'{"format": 2, "pad": "' + b"x" * (3 << 20) + b'"}')


def _fifo(path: Path) -> None:
    path.unlink()
    os.mkfifo(path)  # opened naively, it would block the start for ever


DAMAGE: dict[str, Callable[[Path], None]] = {
    "garbage": _garbage,
    "truncated": _truncated,
    "directory": _directory,
    "nested": _nested,
    "huge": _huge,
}


def _queue_with_events(lic: Licentia) -> None:
    lic.queue.add_many([("usage", lic.clock.now(), {"n": i, "pad": "x" * 500}) for i in range(50)])
    assert lic.queue.count() == 50


@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_a_damaged_event_queue_is_moved_aside_reported_once_and_recreated(
    damage: str, server: LiveServer, machine: FakeMachine, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data = tmp_path / "data"
    lic = app(server, data, machine)
    _queue_with_events(lic)
    DAMAGE[damage](data / QUEUE_FILE)

    fresh = app(server, data, machine)  # the application starts again
    with caplog.at_level(logging.WARNING, logger="licentia.client"):
        status = fresh.check()
        assert status.allowed and status.online
        fresh.feedback("still works")
        assert fresh.flush().remaining == 0
    aside = sorted(p.name for p in data.iterdir() if p.name.startswith(QUEUE_FILE + ".damaged-"))
    assert len(aside) == 1, sorted(p.name for p in data.iterdir())  # kept for inspection
    reports = [r for r in caplog.records if "event queue" in r.getMessage()]
    assert len(reports) == 1 and aside[0] in reports[0].getMessage()
    assert fresh.queue.count() == 0 and (data / QUEUE_FILE).is_file()


STATE_DAMAGE: dict[str, Callable[[Path], object]] = {
    **DAMAGE,
    "a fifo": _fifo,
    "last_seen in year 1": lambda data: _reseal(data, last_seen="0001-01-01T00:00:00Z"),
    "last_seen at the edge": lambda data: _reseal(data, last_seen="0001-01-01T00:00:00+14:00"),
    "signed document a number": lambda data: _reseal(data, signed=5),
    "old format with odd fields": lambda data: (data / STATE_FILE).write_text(
        json.dumps({"format": 1, "credential": [1, 2], "fingerprint": {"signals": 5, "host": []}, "signed": []})
    ),
    "a sealed body nested deep": lambda data: _reseal(data, signed=json.loads("[" * 900 + "]" * 900)),
    "unsealed edit": lambda data: write_state(data, {**read_state(data), "token": "t"}, reseal=False),
}


def _reseal(data: Path, **fields: Any) -> None:
    write_state(data, {**read_state(data), **fields})


@pytest.mark.parametrize("damage", sorted(STATE_DAMAGE))
def test_a_damaged_state_is_no_state_never_a_crash(
    damage: str, server: LiveServer, machine: FakeMachine, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    assert app(server, data, machine).check().allowed
    path = data / STATE_FILE
    damage_it = STATE_DAMAGE[damage]
    damage_it(path if damage in DAMAGE or damage == "a fifo" else data)  # type: ignore[operator]

    lic = app(server, data, machine)
    offline = lic.check(online=False)
    assert not offline.allowed or offline.state == "trial"  # never more than was signed
    if damage in DAMAGE or damage in ("unsealed edit", "a fifo"):
        assert offline.reason == "corrupt_state"
    online = lic.check()  # the application starts while the server is reachable
    assert online.allowed and online.online
    drive_every_method(lic)
    assert lic.check(online=False).allowed  # the state was rewritten whole


def test_a_data_dir_that_is_a_file_raises_only_documented_errors(server: LiveServer, machine: FakeMachine,
                                                                  tmp_path: Path) -> None:  # fmt: skip
    (tmp_path / "data").write_text("not a directory")
    lic = app(server, tmp_path / "data", machine, timeout=TIMEOUT)
    statuses = drive_every_method(lic)
    assert statuses[0].allowed and statuses[0].online  # the server's answer is used, though it cannot be kept


def _pinned_key() -> str:
    from licentia.core.signing import SigningKey

    return SigningKey.generate().export_public()
