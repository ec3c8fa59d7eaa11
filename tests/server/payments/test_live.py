"""A real ``licentia serve`` process with provider secrets from its environment, a mapping made by the CLI,
and a Stripe delivery signed now: the key reaches a real SMTP server and activates."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import LiveServer
from tests.server.helpers import Installation
from tests.server.notify.conftest import SmtpServer
from tests.server.payments.conftest import STRIPE_SECRET, body_of, stripe_header
from tests.server.portal.conftest import wait_for_mail

pytestmark = pytest.mark.slow


def test_a_signed_stripe_order_to_a_real_server_emails_a_working_key(tmp_path: Path, smtp: SmtpServer) -> None:
    data_dir = tmp_path / "server"

    def cli(*args: str) -> str:
        cmd = [sys.executable, "-m", "licentia", *args, "--data-dir", str(data_dir)]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
        assert done.returncode == 0, done.stderr
        return done.stdout

    cli("init")
    cli("payments", "map", "stripe", "price_live", "--product", "my-app")
    env = {
        "LICENTIA_SMTP_HOST": "127.0.0.1",
        "LICENTIA_SMTP_PORT": str(smtp.port),
        "LICENTIA_OUTBOX_POLL_SECONDS": "0.1",
        "LICENTIA_STRIPE_WEBHOOK_SECRET": STRIPE_SECRET,
        "LICENTIA_CUSTOMER_REPLY_TO": "help@vendor.example",
    }
    server = LiveServer(data_dir, env=env).start()
    try:
        event = {
            "id": "evt_live_1",
            "type": "checkout.session.completed",
            "data": {
                "object": {
                    "id": "cs_live",
                    "payment_status": "paid",
                    "metadata": {"licentia_item": "price_live"},
                    "customer_details": {"email": "gina@buyer.example", "name": "Gina"},
                }
            },
        }
        body = body_of(event)
        signed = {"Stripe-Signature": stripe_header(body, int(time.time())), "Content-Type": "application/json"}
        with httpx.Client(base_url=server.url, timeout=10) as http:
            answer = http.post("/v1/hooks/stripe", content=body, headers=signed)
            assert answer.status_code == 200 and answer.json()["outcome"] == "license issued", answer.text
            mail = wait_for_mail(smtp, "gina@buyer.example")
            assert mail["Reply-To"] == "help@vendor.example"
            text = mail.get_body(preferencelist=("plain",)).get_content()
            key = re.search(r"[0-9A-Z]{5}(?:-[0-9A-Z]{5}){4}", text).group(0)  # type: ignore[union-attr]
            app = Installation(http, server.public_key(), product="my-app")
            app.check()
            assert app.check("/v1/activate", key=key)["status"] == "registered"
            assert http.post("/v1/hooks/stripe", content=body, headers=signed).json()["duplicate"] is True
    finally:
        server.stop()
