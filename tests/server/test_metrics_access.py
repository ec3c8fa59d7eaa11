"""/metrics is opt-in: off unless LICENTIA_METRICS_TOKEN is set, then only for that bearer token."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr, ValidationError

from licentia.server.app import create_app
from licentia.server.settings import Settings

TOKEN = "scrape-0123456789abcdef"


def test_metrics_are_not_served_by_default(client: Any) -> None:
    answer = client.get("/metrics")
    assert answer.status_code == 404 and answer.json()["error"]["code"] == "not_found"
    assert "licentia_" not in answer.text


def test_metrics_need_their_bearer_token(migrated: Any, product: Any, clock: Any) -> None:
    settings = migrated.model_copy(update={"metrics_token": SecretStr(TOKEN)})
    with TestClient(create_app(settings, clock=clock)) as client:
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {TOKEN}"}):
            answer = client.get("/metrics", headers=headers)
            assert answer.status_code == 401 and answer.json()["error"]["code"] == "invalid_token"
            assert answer.headers["WWW-Authenticate"] == "Bearer"
        scraped = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert scraped.status_code == 200 and "python_info" in scraped.text


@pytest.mark.parametrize("weak", ["changeme", "short"])
def test_a_weak_metrics_token_is_refused_at_start(weak: str) -> None:
    with pytest.raises(ValidationError, match="LICENTIA_METRICS_TOKEN"):
        Settings(metrics_token=weak)


def test_the_workers_metrics_directory_is_private(tmp_path: Any) -> None:
    import os
    import stat

    from licentia.server.observability import MULTIPROC_ENV, prepare_multiprocess_metrics

    previous_umask, previous_env = os.umask(0o022), os.environ.get(MULTIPROC_ENV)
    try:
        prepare_multiprocess_metrics(tmp_path)
    finally:
        os.umask(previous_umask)
        if previous_env is None:
            os.environ.pop(MULTIPROC_ENV, None)
        else:
            os.environ[MULTIPROC_ENV] = previous_env
    assert stat.S_IMODE((tmp_path / "metrics").stat().st_mode) == 0o700
