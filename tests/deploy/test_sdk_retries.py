"""The SDK sends a request again when a host goes away under it, and only then.

A real HTTP server on loopback plays a proxy whose host died: it resets the
connection after reading the request, or answers 502/503/504, a given number
of times before answering properly. (The same retries are exercised through
HAProxy and killed hosts in test_failover.py.)
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from licentia.client import Offline, ServerRefused
from licentia.client.transport import Transport


class _Flaky(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, failures: list[str]) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.failures = failures  # what the next requests get, in order; then a proper answer
        self.requests: list[bytes] = []


class _Handler(BaseHTTPRequestHandler):
    server: _Flaky

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.requests.append(body)
        failure = self.server.failures.pop(0) if self.server.failures else "ok"
        if failure == "reset":
            # As a killed host's kernel does: an RST instead of an answer.
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
            return
        status, answer = (200, b'{"ok": true}') if failure == "ok" else (int(failure), b"<html>proxy error</html>")
        if failure == "409":
            answer = b'{"error": {"code": "conflict", "message": "no"}}'
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextlib.contextmanager
def flaky(*failures: str) -> Iterator[_Flaky]:
    server = _Flaky(list(failures))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def transport(server: _Flaky) -> Transport:
    return Transport(f"http://127.0.0.1:{server.server_port}", timeout=5)


@pytest.mark.parametrize("failures", [("reset",), ("502",), ("503", "504"), ("reset", "502")])
def test_a_host_that_went_away_is_retried_and_the_call_succeeds(failures: tuple[str, ...]) -> None:
    with flaky(*failures) as server:
        client = transport(server)
        assert client.request("POST", "/v1/events", body={"events": []}) == {"ok": True}
        assert client.retried == len(failures)
        assert len(server.requests) == len(failures) + 1
        assert len(set(server.requests)) == 1  # the same request again, byte for byte (same event ids)


def test_retries_are_bounded_and_end_offline() -> None:
    with flaky("502", "502", "502", "502") as server:
        client = transport(server)
        with pytest.raises(Offline, match="server error 502"):
            client.request("POST", "/v1/check", body={})
        assert len(server.requests) == 3  # the first attempt and two retries
        assert client.retried == 2


def test_a_refusal_garbage_or_a_refused_connection_is_not_retried() -> None:
    with flaky("409") as server:
        client = transport(server)
        with pytest.raises(ServerRefused, match="conflict"):
            client.request("POST", "/v1/activate", body={})
        assert len(server.requests) == 1
    with flaky("500") as server:  # the server's own failure: not a host that went away
        client = transport(server)
        with pytest.raises(Offline):
            client.request("POST", "/v1/check", body={})
        assert len(server.requests) == 1
    with socket.socket() as sock:  # nothing listens: an offline start must not wait for retries
        sock.bind(("127.0.0.1", 0))
        closed = Transport(f"http://127.0.0.1:{sock.getsockname()[1]}", timeout=5)
    with pytest.raises(Offline):
        closed.request("POST", "/v1/check", body={})
    assert closed.retried == 0


def test_a_caller_that_must_not_repeat_gets_one_attempt() -> None:
    with flaky("reset") as server:
        client = transport(server)
        with pytest.raises(Offline):
            client.request("POST", "/v1/check", body={}, retry=False)
        assert len(server.requests) == 1


def test_retries_stay_within_the_deadline() -> None:
    with flaky("502", "502", "502") as server:
        client = Transport(f"http://127.0.0.1:{server.server_port}", timeout=0.1)
        with pytest.raises(Offline):
            client.request("POST", "/v1/check", body={})
        assert len(server.requests) <= 2  # no time was left for the last pause
