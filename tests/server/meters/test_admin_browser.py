"""The license page in a real browser (headless Chromium): its meters load into the page; the certificate downloads."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from licentia.core.documents import PURCHASE_CERTIFICATE, verify_any
from licentia.core.signing import load_public_key
from tests.conftest import LiveServer
from tests.server.helpers import auth, fingerprint
from tests.server.test_admin_browser import EMAIL, PASSWORD, _sign_in, page

pytestmark = [pytest.mark.browser, pytest.mark.slow]
__all__ = ["page"]  # the browser fixture, shared with the admin UI's browser tests


def test_the_license_page_shows_meter_usage_and_downloads_the_certificate(live_server: LiveServer, page: Any) -> None:
    server = live_server
    cmd = [sys.executable, "-m", "licentia", "admin", "create", EMAIL, "--password-stdin"]
    done = subprocess.run([*cmd, "--data-dir", str(server.data_dir)], input=PASSWORD + "\n", text=True,
                          capture_output=True, timeout=120, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    meters = json.dumps({"renders": {"limit": 100, "period": "month"}})
    assert server.cli("policy", "create", "my-app", "Studio", "--set", f"meters={meters}").returncode == 0
    issued = server.cli("license", "issue", "--product", "my-app", "--email", "eve@example.com", "--policy", "Studio")
    key = issued.stdout.strip()
    with httpx.Client(base_url=server.url, timeout=60) as http:
        body = {"product": "my-app", "fingerprint": fingerprint("my-app")}
        cred = http.post("/v1/check", json=body).json()["credential"]
        signed = http.post("/v1/activate", json={**body, "key": key}, headers=auth(cred)).json()["signed"]
        used = http.post(
            "/v1/consume",
            json={"meter": "renders", "amount": 4, "token": signed["document"]["token"]},
            headers=auth(cred),
        )
        assert used.status_code == 200, used.text
    license_id = server.cli("license", "list", "--prefix", key[:5]).stdout.split("\t")[0]

    _sign_in(page, server.url, PASSWORD)
    page.goto(f"{server.url}/admin/licenses/{license_id}")
    row = page.wait_for_selector("#meters tr.meter[data-meter=renders]")  # swapped in by the page's script
    assert row.query_selector("td.used").inner_text() == "4"
    assert row.query_selector("td.remaining").inner_text() == "96"
    with page.expect_download() as download:
        page.click("#certificate a")
    saved = Path(download.value.path())
    kid, public = load_public_key(server.public_key())
    kind, doc = verify_any(saved.read_bytes(), {kid: public})
    assert kind == PURCHASE_CERTIFICATE and doc["customer"]["email"] == "eve@example.com"
