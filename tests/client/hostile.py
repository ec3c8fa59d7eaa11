"""A real HTTP server on a loopback port that answers every request with something hostile.

It plays a broken server, or anyone on a plain-http path between the
application and the real one. ``mode`` picks the answer; see ``ANSWERS``.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar

from licentia.core.signing import SigningKey

S = TypeVar("S", bound=ThreadingHTTPServer)
NESTED = b"[" * 100_000 + b"]" * 100_000
_FORGER = SigningKey.generate()  # a key generator's key: nothing it signs may be trusted


def _forged_answer() -> bytes:
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    document = {"product": "my-app", "device": "dv_forged", "status": "registered", "features": ["pro"],
                "issued_at": now, "lease_until": "2099-01-01T00:00:00Z", "grace_days": 9999}  # fmt: skip
    signed = json.loads(_FORGER.sign(document))
    return json.dumps({"signed": signed, "credential": {"device": "dv_forged", "secret": "s"}}).encode()


# A release answer with links an application must never show, and fields no server sends.
RELEASE_LINKS = json.dumps(
    {"version": "9.9", "channel": "stable", "download_url": "javascript:alert(1)", "notes": ["x"],
     "newer": 1, "installer": "file:///C:/Windows/System32/cmd.exe", "maintenance": {"until": None}}
).encode()  # fmt: skip

WRONG_TYPES = json.dumps(
    {
        "signed": {"document": [], "kid": 5, "sig": None, "endorsements": "x"},
        "credential": {"device": ["x"], "secret": 7},
        "version": ["9.9"],
        "value": {"nested": True},
        "duplicates": "many",
        "error": {"code": ["x"], "message": None},
    }
).encode()


def _respond(handler: BaseHTTPRequestHandler, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
    handler.send_response(status)
    for name, value in {
        "Content-Type": "application/json",
        "Content-Length": str(len(body)),
        **(headers or {}),
    }.items():
        handler.send_header(name, value)
    handler.end_headers()
    handler.wfile.write(body)


def _dribble(handler: BaseHTTPRequestHandler, status: int = 200) -> None:
    handler.send_response(status)
    handler.send_header("Content-Length", "100000")
    handler.end_headers()
    for _ in range(60):  # a byte every 0.1 s: each read is quick, the whole would take minutes
        handler.wfile.write(b" ")
        handler.wfile.flush()
        time.sleep(0.1)


def _truncated(handler: BaseHTTPRequestHandler) -> None:
    handler.send_response(200)
    handler.send_header("Content-Length", "5000")
    handler.end_headers()
    handler.wfile.write(b'{"signed": {"document"')
    handler.close_connection = True


def _bad_status(handler: BaseHTTPRequestHandler) -> None:
    handler.wfile.write(b"HTTP/1.1 abc nonsense\r\nX: " + b"y" * 70_000 + b"\r\n\r\n")
    handler.close_connection = True


def _slow(handler: BaseHTTPRequestHandler) -> None:
    time.sleep(2)
    _respond(handler, 200, b"{}")


ANSWERS: dict[str, Callable[[BaseHTTPRequestHandler], None]] = {
    "garbage": lambda h: _respond(h, 200, b"\x00\xff<html>not json"),
    "nested": lambda h: _respond(h, 200, NESTED),
    "nested_error": lambda h: _respond(h, 403, NESTED),
    "huge": lambda h: _respond(h, 200, b'{"a":"' + b"x" * (3 << 20) + b'"}'),
    "wrong_types": lambda h: _respond(h, 200, WRONG_TYPES),
    "a_list": lambda h: _respond(h, 200, b"[1, 2, 3]"),
    "release_links": lambda h: _respond(h, 200, RELEASE_LINKS),
    "error_wrong_types": lambda h: _respond(h, 429, WRONG_TYPES, {"Retry-After": "9" * 40}),
    "forged": lambda h: _respond(h, 200, _forged_answer()),
    "redirect_elsewhere": lambda h: _respond(h, 302, b"", {"Location": "file:///etc/passwd"}),
    "slow": _slow,
    "dribble": _dribble,
    "dribbled_error": lambda h: _dribble(h, 403),
    "truncated": _truncated,
    "bad_status": _bad_status,
}


class _Handler(BaseHTTPRequestHandler):
    server: _HostileServer

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the client gave up, as it should
            ANSWERS[self.server.mode](self)

    do_GET = do_POST = do_PUT = _answer

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _HostileServer(ThreadingHTTPServer):
    daemon_threads = True
    mode = "garbage"


@contextmanager
def hostile_server() -> Iterator[_HostileServer]:
    """Start the server on a free loopback port; stop it and its threads afterwards."""
    with serving(_HostileServer(("127.0.0.1", 0), _Handler)) as server:
        yield server


@contextmanager
def serving(server: S) -> Iterator[S]:
    """Serve ``server`` (bound to a loopback port) on a thread until the block ends; then stop it and its threads."""
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    with socket.create_connection(("127.0.0.1", server.server_port), timeout=5):
        pass  # listening
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def url_of(server: _HostileServer) -> str:
    host, port = server.server_address[:2]
    return f"http://{host!s}:{port}"
