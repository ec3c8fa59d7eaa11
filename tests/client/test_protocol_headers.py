"""The SDK names itself and the protocol it speaks on every request, and a server speaking another
protocol is an error the application can read, not a grant or a crash."""

from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

import licentia
from licentia.client import Licentia, ServerRefused
from licentia.core.licensekeys import generate_key
from licentia.core.signing import SigningKey
from tests.client.hostile import serving

REFUSAL = {"error": {"code": "unsupported_protocol", "message": "speaks protocol 1", "supported": ["1"]}}


class _Capture(ThreadingHTTPServer):
    daemon_threads = True
    headers: list[dict[str, str]]


class _Handler(BaseHTTPRequestHandler):
    server: _Capture

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.headers.append(dict(self.headers))
        body = json.dumps(REFUSAL).encode()
        self.send_response(400)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def test_every_request_names_the_sdk_and_its_protocol(tmp_path: Path) -> None:
    server = _Capture(("127.0.0.1", 0), _Handler)
    server.headers = []
    with serving(server):
        url = f"http://127.0.0.1:{server.server_port}"
        lic = Licentia(url, "acme", SigningKey.generate().export_public(), tmp_path / "data")
        status = lic.check()  # check() never raises: it decides offline
        assert not status.allowed
        with pytest.raises(ServerRefused) as refused:
            lic.activate(generate_key())
    assert server.headers, "the check reached the server"
    for sent in server.headers:
        assert sent["Licentia-Protocol"] == "1"
        assert sent["User-Agent"].startswith(f"licentia-client-python/{licentia.__version__} (protocol 1; python ")
    assert refused.value.code == "unsupported_protocol"  # the application can tell the user to update
