"""A Checkout event carries no line items: with an API key they are read from Stripe's API.

Stripe's API cannot be reached from here, so a local HTTP server answers the one
call the official ``stripe`` library makes (``GET /v1/checkout/sessions/{id}/line_items``)
in Stripe's documented shape; the library, its request and the webhook are real.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from pydantic import SecretStr

from tests.server.payments.conftest import body_of, license_row, mapping, state, stripe_header

API_KEY = "rk_test_read_checkout"


class StripeApi:
    def __init__(self) -> None:
        self.requests: list[tuple[str, str]] = []
        self.failing = False
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                api.requests.append((self.path, self.headers.get("Authorization", "")))
                if api.failing:
                    self.send_response(500)
                    self.end_headers()
                    return
                if self.headers.get("Authorization") != f"Bearer {API_KEY}":
                    self._json(401, {"error": {"type": "invalid_request_error", "message": "Invalid API Key"}})
                    return
                price = {"id": "price_team", "object": "price", "product": "prod_team"}
                item = {"id": "li_1", "object": "item", "quantity": 1, "price": price}
                self._json(200, {"object": "list", "data": [item], "has_more": False, "url": self.path})

            def _json(self, status: int, body: Any) -> None:
                raw = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)


@pytest.fixture
def stripe_api() -> Iterator[StripeApi]:
    api = StripeApi()
    yield api
    api.close()


@pytest.fixture
def settings(settings: Any, stripe_api: StripeApi) -> Any:
    settings.stripe_api_key = SecretStr(API_KEY)
    settings.stripe_api_base = stripe_api.url
    return settings


def session_event(event_id: str) -> dict[str, Any]:
    session = {
        "id": "cs_test_lines",
        "object": "checkout.session",
        "mode": "payment",
        "payment_status": "paid",
        "payment_intent": "pi_lines",
        "customer_details": {"email": "hana@buyer.example", "name": "Hana Buyer"},
        "metadata": {},
    }
    return {"id": event_id, "object": "event", "type": "checkout.session.completed", "data": {"object": session}}


def post(client: Any, clock: Any, payload: dict[str, Any]) -> Any:
    body = body_of(payload)
    header = stripe_header(body, int(clock.now().timestamp()))
    return client.post("/v1/hooks/stripe", content=body, headers={"Stripe-Signature": header})


def test_the_items_of_a_checkout_come_from_stripes_api(client, engine, clock, smtp, stripe_api):
    mapping(engine, clock, "stripe", "price_team")
    answer = post(client, clock, session_event("evt_lines_1"))
    assert answer.status_code == 200 and answer.json()["outcome"] == "license issued", answer.text
    assert license_row(engine).state == "active"
    path, authorization = stripe_api.requests[-1]
    assert path.startswith("/v1/checkout/sessions/cs_test_lines/line_items")
    assert authorization == f"Bearer {API_KEY}"


def test_stripe_unreachable_answers_503_so_stripe_delivers_again(client, engine, clock, smtp, stripe_api):
    mapping(engine, clock, "stripe", "price_team")
    stripe_api.failing = True
    before = state(engine)
    answer = post(client, clock, session_event("evt_lines_2"))
    assert answer.status_code == 503 and answer.json()["error"]["code"] == "provider_unavailable"
    assert state(engine) == before
    stripe_api.failing = False
    again = post(client, clock, session_event("evt_lines_2"))
    assert again.status_code == 200 and again.json()["outcome"] == "license issued"
