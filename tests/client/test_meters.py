"""``lic.consume()`` and ``licentia-client consume`` against a real server: machines share a license's meters."""

from __future__ import annotations

import concurrent.futures
import json
import socket
import threading
from typing import Any

import pytest

from licentia.client import ConfigurationError, Consumption, LicentiaError, Offline, QuotaExceeded, ServerRefused
from licentia.client.cli import main
from tests.client.conftest import FakeMachine, app


@pytest.fixture(scope="module")
def key(server: Any) -> str:
    meters = json.dumps({"renders": {"limit": 12, "period": "month"}, "exports": {"limit": 100, "period": "lifetime"}})
    made = server.cli("policy", "create", "my-app", "Metered", "--set", f"meters={meters}", "--set", "max_devices=10")
    assert made.returncode == 0, made.stderr
    issued = server.cli("license", "issue", "--product", "my-app", "--email", "m@b.c", "--policy", "Metered")
    assert issued.returncode == 0, issued.stderr
    return issued.stdout.strip()


def test_machines_of_one_license_share_its_meter_and_never_pass_it(server, key, tmp_path):
    apps = []
    for i in range(3):
        machine = FakeMachine(tmp_path / f"pc{i}", disk=f"DISK-{i}")
        lic = app(server, tmp_path / f"data{i}", machine)
        assert lic.activate(key).allowed
        apps.append(lic)
    first = apps[0].consume("renders", 3)
    assert isinstance(first, Consumption)
    assert (first.used, first.limit, first.remaining, first.period, first.replayed) == (3, 12, 9, "month", False)
    assert first.period_end is not None and first.period_end > first.period_start

    def spend(lic: Any) -> list[str]:
        outcomes = []
        for _ in range(5):
            try:
                outcomes.append(f"ok {lic.consume('renders').remaining}")
            except QuotaExceeded as exc:
                outcomes.append(f"refused {exc.consumption.remaining}")
        return outcomes

    with concurrent.futures.ThreadPoolExecutor(max_workers=3) as pool:
        results = [r for rs in pool.map(spend, apps) for r in rs]
    assert sum(r.startswith("ok") for r in results) == 9
    assert results.count("refused 0") == 6
    with pytest.raises(QuotaExceeded) as refused:
        apps[1].consume("renders", 1)
    assert isinstance(refused.value, ServerRefused) and isinstance(refused.value, LicentiaError)
    assert refused.value.code == "quota_exceeded" and refused.value.status == 409
    assert (refused.value.consumption.used, refused.value.consumption.limit) == (12, 12)
    lifetime = apps[2].consume("exports", 0)
    assert lifetime.period_end is None and lifetime.remaining == 100


def test_a_retried_consumption_is_counted_once(server, key, tmp_path):
    machine = FakeMachine(tmp_path / "pc", disk="DISK-R")
    lic = app(server, tmp_path / "data", machine)
    assert lic.activate(key).allowed
    before = lic.consume("exports", 0).used
    assert lic.consume("exports", 2, idempotency_key="order-7").replayed is False
    again = lic.consume("exports", 2, idempotency_key="order-7")
    assert again.replayed is True and again.used == before + 2


def test_the_sdk_retries_a_lost_answer_with_the_same_key(server, key, tmp_path):
    """A proxy that drops the first answer after the server counted: the retry is not counted again."""
    machine = FakeMachine(tmp_path / "pc", disk="DISK-P")
    direct = app(server, tmp_path / "data", machine)
    assert direct.activate(key).allowed
    before = direct.consume("exports", 0).used
    proxy = _DroppingProxy(server.url)
    try:
        lic = app(server, tmp_path / "data", machine)
        lic.transport.server_url = proxy.url
        done = lic.consume("exports", 1)
    finally:
        proxy.close()
    assert proxy.dropped == 1
    assert done.used == before + 1 and done.replayed is True


def test_bad_arguments_and_an_unreachable_server_are_documented_errors(server, key, tmp_path):
    lic = app(server, tmp_path / "data", FakeMachine(tmp_path / "pc", disk="DISK-B"))
    with pytest.raises(ConfigurationError):
        lic.consume("no spaces allowed", 1)
    with pytest.raises(ConfigurationError):
        lic.consume("renders", -1)
    with pytest.raises(ServerRefused) as no_seat:
        lic.consume("renders", 1)  # a trial installation holds no seat
    assert no_seat.value.code == "not_registered"
    offline = app(server, tmp_path / "data2", FakeMachine(tmp_path / "pc2"), timeout=0.5)
    offline.transport.server_url = "http://127.0.0.1:9"
    with pytest.raises(Offline):
        offline.consume("renders", 1)


def test_the_cli_consumes_and_says_what_remains(server, key, tmp_path, capsys):
    machine = FakeMachine(tmp_path / "pc", disk="DISK-C")
    common = ["--server", server.url, "--product", "my-app", "--public-key", server.public_key()]
    common += ["--data-dir", str(tmp_path / "data"), "--fingerprint-root", str(machine.root)]
    assert main(["activate", key, *common]) == 0
    capsys.readouterr()
    assert main(["consume", "exports", "5", *common, "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["meter"] == "exports" and shown["limit"] == 100 and shown["period_end"] is None
    assert main(["consume", "exports", "1000", *common]) == 1
    captured = capsys.readouterr()
    assert "left this lifetime" in captured.out and "quota_exceeded" in captured.err


class _DroppingProxy:
    """A loopback HTTP proxy that forwards every request and drops the first answer to /v1/consume."""

    def __init__(self, target: str) -> None:
        host, port = target.rsplit("//", 1)[1].split(":")
        self.target = (host, int(port))
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.dropped = 0
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            with client:
                request = _read_http(client)
                with socket.create_connection(self.target, timeout=30) as upstream:
                    upstream.sendall(request)
                    answer = _read_http(upstream)
                if b"/v1/consume" in request.split(b"\r\n", 1)[0] and self.dropped == 0:
                    self.dropped += 1
                    continue  # counted by the server, lost on the way back
                client.sendall(answer)

    def close(self) -> None:
        self.sock.close()


def _read_http(conn: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            break
        body += chunk
    # One exchange per connection: the forwarded request says so.
    head = head.replace(b"Connection: keep-alive", b"Connection: close")
    return head + b"\r\n\r\n" + body


def test_the_sdk_consumes_on_both_databases(database_url, tmp_path):
    """The same SDK calls against a server on the SQLite file and on PostgreSQL."""
    from tests.processes import InProcessServer

    server = InProcessServer(tmp_path / "server", database_url=database_url).start()
    try:
        meters = json.dumps({"pages": {"limit": 5, "period": "day"}})
        assert server.cli("policy", "create", "my-app", "Pages", "--set", f"meters={meters}").returncode == 0
        issued = server.cli("license", "issue", "--product", "my-app", "--email", "pg@b.c", "--policy", "Pages")
        apps = [app(server, tmp_path / f"d{i}", FakeMachine(tmp_path / f"m{i}", disk=f"DB-{i}")) for i in range(2)]
        for lic in apps:
            assert lic.activate(issued.stdout.strip()).allowed
        assert apps[0].consume("pages", 3).remaining == 2
        assert apps[1].consume("pages", 2, idempotency_key="k1").remaining == 0
        assert apps[1].consume("pages", 2, idempotency_key="k1").replayed is True
        with pytest.raises(QuotaExceeded) as refused:
            apps[0].consume("pages")
        assert refused.value.consumption.used == 5 and refused.value.consumption.period == "day"
    finally:
        server.stop()
