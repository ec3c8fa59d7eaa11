"""A real OpenID Connect provider (the npm package ``oidc-provider``, run by tests/oidc/provider.mjs) on loopback,
and a browser's walk through it with httpx: the app's redirect out, the provider's sign-in and consent pages,
the redirect back."""

from __future__ import annotations

import json
import re
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx

from tests.processes import end_group, free_port

FOLDER = Path(__file__).resolve().parents[2] / "oidc"
APP = "http://testserver"
CALLBACKS = [f"{APP}/admin/sso/callback", f"{APP}/portal/sso/callback"]


def installed() -> None:
    """``npm ci`` in tests/oidc when its packages are not there yet (scripts/test does it first)."""
    if not (FOLDER / "node_modules" / "oidc-provider").is_dir():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=FOLDER, check=True)


@dataclass
class Provider:
    """One provider process: its issuer, its clients (client id -> secret), the kid of its signing key."""

    clients: dict[str, str]
    kid: str = "key-1"
    port: int = field(default_factory=free_port)
    id_token_ttl: dict[str, int] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Provider:
        installed()
        config = {
            "port": self.port,
            "kid": self.kid,
            "clients": [
                {"client_id": cid, "client_secret": secret, "redirect_uris": CALLBACKS}
                for cid, secret in self.clients.items()
            ],
            "idTokenTtl": self.id_token_ttl,
        }
        self.process = subprocess.Popen(
            ["node", str(FOLDER / "provider.mjs"), json.dumps(config)],
            cwd=FOLDER,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{self.issuer}/.well-known/openid-configuration", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("the OpenID Connect provider did not start")
            time.sleep(0.1)

    def stop(self) -> None:
        if self.process is not None:
            end_group(self.process, grace=5)
            self.process = None

    def rotate(self, kid: str) -> None:
        """The provider starts again with a new signing key (same issuer, same clients): a key rotation."""
        self.stop()
        self.kid = kid
        self.start()


def _form(html: str) -> tuple[str, dict[str, str]] | None:
    found = re.search(r'<form[^>]*action="([^"]+)"[^>]*method="post"', html, re.I) or re.search(
        r'<form[^>]*method="post"[^>]*action="([^"]+)"', html, re.I
    )
    if found is None:
        return None
    hidden = dict(re.findall(r'<input[^>]*type="hidden"[^>]*name="([^"]+)"[^>]*value="([^"]*)"', html))
    return found.group(1), hidden


def through_provider(url: str, *, login: str, browser: httpx.Client | None = None) -> str:
    """Follow ``url`` (the app's redirect to the provider) as a browser, sign in as ``login`` and consent; the URL
    the provider sends the browser back to (on the app)."""
    http = browser or httpx.Client(timeout=10)
    try:
        answer = http.get(url)
        for _ in range(20):
            if answer.is_redirect:
                target = urljoin(str(answer.url), answer.headers["location"])
                if not target.startswith(f"http://{urlsplit(url).netloc}"):
                    return target
                answer = http.get(target)
                continue
            form = _form(answer.text)
            assert form is not None, f"the provider answered {answer.status_code}: {answer.text[:300]}"
            action, fields = form
            if "login" in answer.text and 'name="login"' in answer.text:
                fields |= {"login": login, "password": "anything"}
            answer = http.post(urljoin(str(answer.url), action), data=fields)
        raise AssertionError("the provider never sent the browser back")
    finally:
        if browser is None:
            http.close()


def back_at_app(client: Any, url: str, **options: Any) -> Any:
    """The app's answer to the provider's redirect back (``client``: the app's TestClient)."""
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}" == APP, url
    return client.get(f"{parts.path}?{parts.query}", follow_redirects=False, **options)
