"""A fake Licentia server for the C client's tests: genuine documents, answered to the wrong request.

    python fake_server.py PORT DIR

Signs with a key of its own, made at start and written to DIR/fake.pub for the test to pin, so
every document it sends verifies: what the client must catch is not a bad signature but an answer
that is not the answer to its request. The first part of the path picks how it answers
(``POST /<mode>/v1/check``, ``/activate``, ``/deactivate``); every document names the hardware
and data path the request presented, and the device whose credential the request carried:

- ``honest``: the answer a real server gives (the request's nonce; a new credential at first contact);
- ``replay-2020``: a registered document issued in 2020, without a nonce (saved long ago);
- ``older-nonce``: a registered document of 30 days ago, carrying an earlier request's nonce;
- ``future``: a registered document issued two days ahead, without a nonce;
- ``wrong-nonce``: a registered document of now, its nonce one character off;
- ``other-installation``: a registered document with the request's nonce, for another device;
- ``other-machine``: a registered document with the request's nonce, for this device on another machine;
- ``no-credential``: at first contact, a document with the request's nonce for a new device, without its credential;
- ``crlf-credential``: at first contact, the honest answer whose credential's secret holds CR/LF and a header.

Floating seats and meters, after an honest first contact (``POST /<mode>/v1/leases``,
``/v1/leases/<id>/heartbeat``, ``/v1/consume``): ``lease-honest`` signs a lease for the machine the
device's check presented, with the request's nonce; ``lease-replay`` the same with an earlier
request's nonce; ``lease-other`` names another lease outside the signature than inside;
``garbage`` answers a lease with text that is not JSON and a consumption with figures of the wrong
type; ``deep`` answers JSON nested a hundred thousand deep; ``quota`` refuses a consumption as past
its limit, with the figures.

A request without the client's version and protocol (``User-Agent: licentia-client-c/<v> (protocol
1)``, ``Licentia-Protocol: 1``) is written down in DIR/unversioned. A request carrying an ``X-Injected`` header (a credential that smuggled a line into the headers) is
written down in DIR/injected, for the test to find.

``GET /<mode>/v1/releases/latest`` answers a release with fields the client must drop (unknown,
nested, a plain-http link; ``https-release``: an https link). Events, feedback and ``GET /healthz``
answer ``{}``. Standard library only, besides the signing key.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from licentia.core.signing import SigningKey

KEY = SigningKey.generate()
MACHINE = "mc_fa4e00c0ffee0001"
DAY = dt.timedelta(days=1)
EARLIER_NONCE = "Zm9yIGFuIGVhcmxpZXIgcmVxdWVzdA"
OTHER_DEVICE = "dv_77aa00bb11cc22dd"
OTHER_MACHINE = "mc_0000aaaa1111bbbb"


def iso(when: dt.datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def document(request: dict[str, Any], device: str, issued: dt.datetime, *, registered: bool) -> dict[str, Any]:
    fingerprint = request.get("fingerprint") or {}
    doc: dict[str, Any] = {
        "v": 1,
        "product": request.get("product"),
        "device": device,
        "machine": MACHINE,
        "status": "trial",
        "allowed": True,
        "reason": None,
        "trial_end": iso(issued + 14 * DAY),
        "license": None,
        "features": [],
        "issued_at": iso(issued),
        "lease_until": iso(issued + 7 * DAY),
        "grace_days": 7,
        "usage_report_days": 31,
        "token": secrets.token_urlsafe(8),
        "clone_suspected": False,
        # Signed, but its link plain http: the client keeps the version and drops the link.
        "latest_release": {"version": "2.0.0", "channel": "stable", "download_url": "http://plain.example/app.tar.gz"},
        "components": fingerprint.get("components") or {},
        "data_path": fingerprint.get("data_path"),
        "min_match": 2,
    }
    if registered:
        doc.update(status="registered", trial_end=None, features=["pro"],
                   license={"id": "li_fake", "key_prefix": "FAKE1", "expires_at": None})  # fmt: skip
    return doc


SEAT_MODES = ("lease-honest", "lease-replay", "lease-other", "garbage", "deep", "quota")


def answer(mode: str, action: str, request: dict[str, Any], asked: str | None) -> dict[str, Any] | None:
    """The answer ``{"credential", "signed"}`` this mode gives, or None for an unknown mode."""
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    nonce = request.get("nonce")
    credential = None
    device = asked or OTHER_DEVICE
    if mode == "honest":
        if asked is None:  # first contact: the credential for a new installation
            device = "dv_" + secrets.token_hex(8)
            credential = {"device": device, "secret": secrets.token_urlsafe(24)}
        COMPONENTS[device] = (request.get("fingerprint") or {}).get("components") or {}
        doc = document(request, device, now, registered=action == "activate")
        doc["nonce"] = nonce
    elif mode == "replay-2020":
        doc = document(request, device, dt.datetime(2020, 1, 15, 9, 30, tzinfo=dt.UTC), registered=True)
    elif mode == "older-nonce":
        doc = document(request, device, now - 30 * DAY, registered=True)
        doc["nonce"] = EARLIER_NONCE
    elif mode == "future":
        doc = document(request, device, now + 2 * DAY, registered=True)
    elif mode == "wrong-nonce":
        doc = document(request, device, now, registered=True)
        doc["nonce"] = str(nonce)[:-1] + ("A" if str(nonce).endswith("B") else "B")
    elif mode == "other-installation":
        doc = document(request, OTHER_DEVICE, now, registered=True)
        doc["nonce"] = nonce
    elif mode == "other-machine":
        doc = document(request, device, now, registered=True)
        doc.update(nonce=nonce, machine=OTHER_MACHINE)
    elif mode == "crlf-credential":
        device = asked or "dv_" + secrets.token_hex(8)
        credential = {"device": device, "secret": "s3cret\r\nX-Injected: yes"}
        doc = document(request, device, now, registered=False)
        doc["nonce"] = nonce
    elif mode == "no-credential":
        doc = document(request, asked or "dv_" + secrets.token_hex(8), now, registered=False)
        doc["nonce"] = nonce
    else:
        return None
    return {"credential": credential, "signed": json.loads(KEY.sign(doc))}


FOLDER = Path(".")
COMPONENTS: dict[str, Any] = {}  # the components each device's checks presented


def lease_answer(mode: str, request: dict[str, Any], device: str) -> Any:
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    lease = "ls_" + secrets.token_hex(12)
    doc = {
        "v": 1, "type": "floating_lease", "product": "my-app", "lease": lease, "device": device, "machine": MACHINE,
        "components": COMPONENTS.get(device, {}), "min_match": 2, "issued_at": iso(now),
        "expires_at": iso(now + dt.timedelta(seconds=60)), "borrowed": False, "lease_seconds": 60,
        "heartbeat_seconds": 20, "entitlements": {"edition": {"value": "pro", "expires_at": None}}, "features": ["pro"],
        "nonce": request.get("nonce") if mode != "lease-replay" else EARLIER_NONCE,
    }  # fmt: skip
    named = "ls_" + secrets.token_hex(12) if mode == "lease-other" else lease
    return {"lease": named, "signed": json.loads(KEY.sign(doc))}


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self._note_injection()
        if "/v1/releases/latest" in self.path:
            https = self.path.startswith("/https-release/")
            link = "https://downloads.example/app-2.0.0.tar.gz" if https else "http://plain.example/app.tar.gz"
            self._send(200, {"version": "2.0.0", "channel": "stable", "released_at": "2026-11-02T10:00:00Z",
                             "download_url": link, "notes": "Faster.", "newer": True, "script": {"run": ["x"]},
                             "extra": "unknown", "maintenance": {"until": None}})  # fmt: skip
            return
        self._send(200, {})

    def _note_injection(self) -> None:
        agent, protocol = self.headers.get("User-Agent") or "", self.headers.get("Licentia-Protocol")
        if protocol != "1" or not agent.startswith("licentia-client-c/") or not agent.endswith(" (protocol 1)"):
            with open(FOLDER / "unversioned", "a", encoding="utf-8") as out:
                out.write(f"{self.path} {agent!r} {protocol!r}\n")
        if "X-Injected" in self.headers:
            with open(FOLDER / "injected", "a", encoding="utf-8") as out:
                out.write(self.path + "\n")

    def do_POST(self) -> None:
        self._note_injection()
        length = int(self.headers.get("Content-Length") or 0)
        request = json.loads(self.rfile.read(length) or b"{}")
        _, mode, *rest = self.path.split("/", 2)
        action = rest[0].removeprefix("v1/") if rest else ""
        if action not in ("check", "activate", "deactivate") and action != "consume" and not action.startswith("leases"):
            self._send(200, {})  # events and feedback: taken
            return
        auth = self.headers.get("Authorization") or ""
        asked = auth.removeprefix("Device ").split(":", 1)[0] if auth.startswith("Device ") else None
        if action == "consume" or action.startswith("leases"):
            self._seats(mode, action, request, asked or "")
            return
        body = answer("honest" if mode in SEAT_MODES else mode, action, request, asked)
        if body is None:
            self._send(404, {"error": {"code": "http_error", "message": f"no mode {mode}"}})
        else:
            self._send(200, body)

    def _seats(self, mode: str, action: str, request: dict[str, Any], device: str) -> None:
        if mode == "deep":
            self._raw(200, b"[" * 100_000 + b"]" * 100_000)
        elif mode == "garbage" and action == "consume":
            self._send(200, {"meter": "renders", "used": "many", "limit": 5, "remaining": -1, "period": "month"})
        elif mode == "garbage":
            self._raw(200, b"<html>a captive portal</html>")
        elif mode == "quota" and action == "consume":
            figures = {"meter": "renders", "used": 5, "limit": 5, "remaining": 0, "period": "month",
                       "period_start": "2026-12-01T00:00:00Z", "period_end": "2027-01-01T00:00:00Z"}  # fmt: skip
            self._send(409, {"error": {"code": "quota_exceeded", "message": "No renders left.", **figures}})
        elif action.startswith("leases") and not action.endswith("/release"):
            self._send(200, lease_answer(mode, request, device))
        else:
            self._send(200, {"state": "released"})

    def _raw(self, status: int, data: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _send(self, status: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        sys.stderr.write("fake server: " + format % args + "\n")


def main() -> None:
    global FOLDER
    port, folder = int(sys.argv[1]), Path(sys.argv[2])
    FOLDER = folder
    (folder / "fake.pub").write_text(KEY.export_public() + "\n", encoding="ascii")
    ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()


if __name__ == "__main__":
    main()
