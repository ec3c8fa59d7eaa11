"""A provider made for the tests (not a real one): it serves discovery and a key set like any provider, and
answers the code with an ID token whose claims and signature the test chooses. The real provider (provider.py)
cannot be made to mint a token for another audience, from another issuer or signed with another key; this one
can, so what the relying party refuses is seen exactly."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from joserfc import jwt
from joserfc.jwk import RSAKey

CLIENT_ID, CLIENT_SECRET = "forged-client", "forged client secret"


@dataclass
class Forger:
    """What the next ID token says (``claims`` over the honest ones) and how it is signed."""

    port: int = 0
    key: RSAKey = field(default_factory=lambda: RSAKey.generate_key(2048, parameters={"kid": "forged-1"}))
    claims: dict[str, Any] = field(default_factory=dict)
    drop: tuple[str, ...] = ()
    sign_with: RSAKey | None = None  # another key than the published one
    raw_token: str | None = None  # a token given as is
    nonce: str = ""

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def id_token(self) -> str:
        if self.raw_token is not None:
            return self.raw_token
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "aud": CLIENT_ID,
            "sub": "forged-subject",
            "email": "ann@vendor.example",
            "email_verified": True,
            "nonce": self.nonce,
            "iat": now,
            "exp": now + 300,
        } | self.claims
        for name in self.drop:
            claims.pop(name, None)
        key = self.sign_with or self.key
        return jwt.encode({"alg": "RS256", "kid": "forged-1"}, claims, key)


def _handler(forger: Forger) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _json(self, body: Any) -> None:
            data = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            path, _, query = self.path.partition("?")
            if path == "/.well-known/openid-configuration":
                base = forger.issuer
                self._json({
                    "issuer": base, "authorization_endpoint": f"{base}/authorize",
                    "token_endpoint": f"{base}/token", "jwks_uri": f"{base}/jwks",
                })  # fmt: skip
            elif path == "/jwks":
                self._json({"keys": [forger.key.as_dict(private=False)]})
            elif path == "/authorize":
                asked = dict(parse_qsl(query))
                forger.nonce = asked.get("nonce", "")
                self.send_response(302)
                back = {"code": "forged-code", "state": asked.get("state", "")}
                self.send_header("Location", f"{asked['redirect_uri']}?{urlencode(back)}")
                self.end_headers()
            else:
                self.send_error(404)

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            self.rfile.read(length)
            self._json({"access_token": "forged", "token_type": "Bearer", "id_token": forger.id_token()})

    return Handler


@contextmanager
def forged_provider() -> Iterator[Forger]:
    forger = Forger()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(forger))
    forger.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield forger
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def authorized(url: str) -> str:
    """The forged provider's redirect back, for the app's redirect out (no sign-in page: it vouches at once)."""
    import httpx

    answer = httpx.get(url, follow_redirects=False, timeout=5)
    assert answer.status_code == 302, answer.text
    location = str(answer.headers["location"])
    assert urlsplit(location).path.endswith("/callback")
    return location
