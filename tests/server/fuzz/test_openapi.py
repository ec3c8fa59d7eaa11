"""Schemathesis over the public and the developer API's OpenAPI, against a real ``licentia serve``.

Whatever a client sends, the server answers it without a 500: every operation
of ``/openapi.json`` gets generated requests (valid, boundary and invalid ones)
over HTTP, with a real SQLite file behind it and a valid ``write`` API token for
``/v1/admin``. Examples are bounded so the whole run stays around a minute here.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from licentia.core.clock import SystemClock
from tests.conftest import LiveServer

pytestmark = pytest.mark.slow
MAX_EXAMPLES = 60


@pytest.fixture(scope="module")
def fuzzed_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    root = tmp_path_factory.mktemp("fuzz")
    env = {"LICENTIA_REVERSE_DNS": "false", "LICENTIA_PAYMENT_WEBHOOK_SECRET": "whsec-fuzz-0123456789"}
    # The payment providers' webhooks too, so generated deliveries reach their signature checks.
    for provider in ("STRIPE", "PADDLE", "FASTSPRING"):
        env[f"LICENTIA_{provider}_WEBHOOK_SECRET"] = f"{provider.lower()}-fuzz-0123456789"
    server = LiveServer(root / "server", env=env).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def admin_token(fuzzed_server: LiveServer) -> str:
    from licentia.server.auth.tokens import create_token
    from licentia.server.store.engine import database_urls, make_sync_engine

    url = f"sqlite:///{fuzzed_server.data_dir / 'licentia.db'}"
    engine = make_sync_engine(database_urls(url), pool_size=1)
    try:
        with engine.begin() as conn:
            made = create_token(conn, name="fuzz", scopes=["write"], now=SystemClock().now(), created_by="test")
    finally:
        engine.dispose()
    return made.token


@pytest.fixture(scope="module")
def device_credential(fuzzed_server: LiveServer) -> str:
    """A real device of ``my-app``, so the device endpoints are fuzzed past authentication."""
    answer = httpx.post(fuzzed_server.url + "/v1/check", json={"product": "my-app", "device_id": "fuzz-device"})
    credential = answer.json()["credential"]
    return f"Device {credential['device']}:{credential['secret']}"


def _openapi() -> dict[str, Any]:
    """The served schema, built from the app itself (nothing runs: no lifespan, no database)."""
    from cryptography.fernet import Fernet

    from licentia.server.app import create_app
    from licentia.server.settings import Settings

    unused = Path("/nonexistent/licentia-fuzz")
    app = create_app(
        Settings(data_dir=unused, database_url=f"sqlite:///{unused}/x.db", secret_key=Fernet.generate_key().decode())
    )
    return app.openapi()


schema = schemathesis.openapi.from_dict(_openapi())


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,  # the same requests on every run: CI stays reproducible
    database=None,
)
def test_no_request_makes_a_server_error(
    case: Any, admin_token: str, device_credential: str, fuzzed_server: LiveServer
) -> None:
    headers = None
    if case.path.startswith("/v1/admin"):
        headers = {"Authorization": f"Bearer {admin_token}"}
    elif case.path.startswith(("/v1/events", "/v1/feedback", "/v1/values", "/v1/deactivate", "/v1/consume")):
        headers = {"Authorization": device_credential}
    case.call_and_validate(base_url=fuzzed_server.url, headers=headers, checks=[not_a_server_error], timeout=30)


def test_the_server_logged_no_unexpected_error(fuzzed_server: LiveServer) -> None:
    log = fuzzed_server.log_path.read_text(errors="replace")
    assert "Traceback" not in log, log[-4000:]
