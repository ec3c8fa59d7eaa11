"""The SDK's proxy-log trail against a real server, through a real forward HTTP proxy that logs what it
forwards, as an organisation's proxy would: with the product's trail on, each install and usage report
goes first as GETs carrying its fields (and never the key or the credential), then as its POST; recorded
once on the server. Off (the default), no GET is sent. The one-time usage report follows the signed
``registered_at``."""

from __future__ import annotations

import datetime as dt
import http.client
import http.server
import json
import os
import subprocess
import sys
import textwrap
import threading
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from licentia.client.state import StateFile
from licentia.core.clock import ManualClock
from tests.client.conftest import FakeMachine, app, server_db
from tests.conftest import LiveServer

FACTS = ("computer_name", "user_name")


class LoggingProxy(http.server.ThreadingHTTPServer):
    """A forward HTTP proxy on loopback: each request line and its headers logged, then forwarded."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Forward)
        self.log: list[tuple[str, dict[str, str]]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Forward(http.server.BaseHTTPRequestHandler):
    server: LoggingProxy
    protocol_version = "HTTP/1.1"

    def _forward(self) -> None:
        self.server.log.append((self.requestline, dict(self.headers.items())))
        target = urllib.parse.urlsplit(self.path)  # a proxy gets the absolute URI
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        upstream = http.client.HTTPConnection(target.hostname or "", target.port, timeout=30)
        try:
            headers = {k: v for k, v in self.headers.items() if k.lower() not in ("proxy-connection", "connection")}
            upstream.request(self.command, target.path + (f"?{target.query}" if target.query else ""), body, headers)
            answer = upstream.getresponse()
            data = answer.read()
            self.send_response(answer.status)
            for name, value in answer.getheaders():
                if name.lower() not in ("transfer-encoding", "connection", "content-length"):
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        finally:
            upstream.close()

    do_GET = do_POST = _forward

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def proxy() -> Iterator[LoggingProxy]:
    server = LoggingProxy()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(10)


_APP = textwrap.dedent(
    """
    import json, sys
    from licentia.client import Licentia
    url, key, data_dir, root, license_key = sys.argv[1:6]
    lic = Licentia(url, "my-app", key, data_dir, fingerprint_root=root, app_version="4.2 beta",
                   facts=["computer_name", "user_name"], trackers=["R&D = 100%"])
    status = lic.check()
    if license_key:
        status = lic.activate(license_key)
        status = lic.check()
    print(json.dumps({"device": status.device, "status": status.state, "left": lic.queue.count()}))
    """
)


def _run_app(server: LiveServer, proxy: LoggingProxy, data_dir: Path, machine: FakeMachine, key: str = "") -> Any:
    env = {k: v for k, v in os.environ.items() if k.lower() not in ("no_proxy", "http_proxy", "https_proxy")}
    env |= {"http_proxy": proxy.url, "HTTP_PROXY": proxy.url, "COMPUTERNAME": "LAB-7", "USER": "ann smith"}
    args = [sys.executable, "-c", _APP, server.url, server.public_key(), str(data_dir), str(machine.root), key]
    done = subprocess.run(args, capture_output=True, text=True, env=env, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _db(server: LiveServer, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    conn = server_db(server)
    try:
        return [tuple(row) for row in conn.execute(sql, args).fetchall()]
    finally:
        conn.close()


def test_with_the_trail_on_the_proxy_logs_the_fields_before_each_post_and_never_a_secret(
    server: LiveServer, proxy: LoggingProxy, machine: FakeMachine, tmp_path: Path
) -> None:
    assert server.cli("product", "facts", "my-app", "--enable").returncode == 0
    assert server.cli("product", "trail", "my-app", "--on").returncode == 0
    key = server.cli("license", "issue", "--product", "my-app", "--email", "ann@example.com").stdout.strip()
    try:
        ran = _run_app(server, proxy, tmp_path / "data", machine, key)
    finally:
        server.cli("product", "trail", "my-app", "--off")
    assert ran["status"] == "registered" and ran["left"] == 0

    lines = [line for line, _ in proxy.log]
    trails = [line for line in lines if line.startswith(f"GET {server.url}/v1/trail?")]
    posts = [n for n, line in enumerate(lines) if line.startswith(f"POST {server.url}/v1/events ")]
    (install,) = [line for line in trails if "&m=install&" in line]
    (usage,) = [line for line in trails if "&m=usage&" in line]
    for line in (install, usage):
        assert "p=my-app&" in line and "&n=1&version=4.2%20beta&" in line and line.endswith("&end=1 HTTP/1.1")
        assert "&tracker_1=R%26D%20%3D%20100%25&end=1" in line  # the proxy sees every field, escaped
        assert lines.index(line) < max(posts)  # each GET before the POST of its event
    assert "&computer_name=" in install and "&user_name=" in install
    # Never the license key, the credential or an Authorization header on a trail GET.
    (device_secret,) = _db(server, "SELECT secret_hash FROM devices WHERE id = ?", ran["device"])
    for line, headers in proxy.log:
        if "/v1/trail" in line:
            assert key not in line and key[:5] not in line and "secret" not in line.lower()
            assert "Authorization" not in headers and ran["device"] not in line
    state = StateFile(tmp_path / "data").load()
    assert state.credential is not None
    assert not any(state.credential[1] in line for line in lines) and device_secret

    # Recorded once, linked to the posted event by its id.
    event_id = urllib.parse.parse_qs(install.split("?", 1)[1].split(" ")[0])["i"][0]
    stored = _db(server, "SELECT kind FROM events WHERE client_event_id = ?", event_id)
    trail = _db(server, "SELECT mode, part, last, fields FROM trail_requests WHERE client_event_id = ?", event_id)
    assert stored == [("install",)]
    assert [(mode, part, last) for mode, part, last, _ in trail] == [("install", 1, 1)]
    assert json.loads(trail[0][3])["tracker_1"] == "R&D = 100%"


def test_with_the_trail_off_no_get_is_sent(
    server: LiveServer, proxy: LoggingProxy, machine: FakeMachine, tmp_path: Path
) -> None:
    ran = _run_app(server, proxy, tmp_path / "data", machine)
    assert ran["left"] == 0
    assert any(line.startswith(f"POST {server.url}/v1/events ") for line, _ in proxy.log)
    assert not any("/v1/trail" in line for line, _ in proxy.log)


def test_the_one_time_usage_report_waits_for_the_days_after_registration_then_never_again(
    server: LiveServer, machine: FakeMachine, tmp_path: Path
) -> None:
    assert server.cli("product", "trail", "my-app", "--usage-once").returncode == 0
    try:
        key = server.cli("license", "issue", "--product", "my-app", "--email", "ann@example.com").stdout.strip()
        clock = ManualClock(dt.datetime.now(dt.UTC))
        lic = app(server, tmp_path / "data", machine, clock=clock)
        registered = lic.activate(key)
        assert registered.state == "registered"
        lic.check()
        days = int(StateFile(tmp_path / "data").load().signed["document"]["usage_report_days"])  # type: ignore[index]
        device = registered.device
        usage = "SELECT count(*) FROM events WHERE device_id = ? AND kind = 'usage'"
        assert _db(server, usage, device) == [(0,)]  # not at registration, as the periodic report would
        clock.advance(days=days - 1)
        lic.check()
        assert _db(server, usage, device) == [(0,)]
        clock.advance(days=1, seconds=1)
        lic.check()
        assert _db(server, usage, device) == [(1,)]
        clock.advance(days=days * 3)
        lic.check()
        assert _db(server, usage, device) == [(1,)]  # once only
    finally:
        server.cli("product", "trail", "my-app", "--usage-periodic")
