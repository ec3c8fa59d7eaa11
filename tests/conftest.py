"""Shared fixtures: real databases (a SQLite file; PostgreSQL when LICENTIA_TEST_POSTGRES_URL
names a server), a server app with a movable clock, and a real server process."""

from __future__ import annotations

import datetime as dt
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.fernet import Fernet

from licentia.core.clock import UTC, ManualClock

PG_URL = os.environ.get("LICENTIA_TEST_POSTGRES_URL")
START = dt.datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def _pg_database() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test, dropped afterwards."""
    import psycopg
    from sqlalchemy.engine import make_url

    assert PG_URL
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = make_url(PG_URL).set(drivername="postgresql")
    dsn = admin.render_as_string(hide_password=False)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield admin.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


_BACKENDS = [
    "sqlite",
    pytest.param(
        "postgresql",
        marks=[
            pytest.mark.postgres,
            pytest.mark.skipif(not PG_URL, reason="LICENTIA_TEST_POSTGRES_URL not set"),
        ],
    ),
]


@pytest.fixture(params=_BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database on every backend: the SQLite file, then PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'licentia.db'}"
    else:
        yield from _pg_database()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Any:
    from licentia.server.settings import Settings

    return Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        secret_key=Fernet.generate_key().decode(),
        reverse_dns=False,
        product_cache_seconds=0,
    )


@pytest.fixture
def migrated(settings: Any) -> Any:
    from licentia.server.store.engine import database_urls, upgrade

    upgrade(database_urls(settings.resolved_database_url))
    return settings


@pytest.fixture
def engine(migrated: Any) -> Iterator[Any]:
    from licentia.server.store.engine import database_urls, make_sync_engine

    eng = make_sync_engine(database_urls(migrated.resolved_database_url), pool_size=1)
    yield eng
    eng.dispose()


@pytest.fixture
def product(engine: Any, migrated: Any, clock: ManualClock) -> Any:
    """A product ``acme`` with default policy; ``.public_key`` is what an app pins."""
    from licentia.server.products.service import create_product

    with engine.begin() as conn:
        return create_product(conn, slug="acme", name="Acme Editor", fernet=migrated.fernet(), now=clock.now())


@pytest.fixture
def client(migrated: Any, product: Any, clock: ManualClock) -> Iterator[Any]:
    """The app, lifespan running, behind a TestClient; move ``clock`` to move server time."""
    from fastapi.testclient import TestClient

    from licentia.server.app import create_app

    app = create_app(migrated, clock=clock)
    with TestClient(app) as test_client:
        yield test_client


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LiveServer:
    """A real ``licentia serve`` process on a loopback port."""

    def __init__(
        self,
        data_dir: Path,
        database_url: str | None = None,
        workers: int = 1,
        env: dict[str, str] | None = None,
    ) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.database_url = database_url
        self.workers = workers
        self.env = env or {}
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> LiveServer:
        cmd = [
            sys.executable,
            "-m",
            "licentia",
            "serve",
            "--data-dir",
            str(self.data_dir),
            "--port",
            str(self.port),
            "--workers",
            str(self.workers),
        ]
        if self.database_url:
            cmd += ["--database-url", self.database_url]
        # Tests change policies and check at once; production reuses them for 2 s.
        env = {**os.environ, "LICENTIA_PRODUCT_CACHE_SECONDS": "0", **self.env}
        env.pop("LICENTIA_DATABASE_URL", None)
        self.log = open(self.data_dir.parent / f"server-{self.port}.log", "wb")  # noqa: SIM115
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {Path(self.log.name).read_text()[-2000:]}")
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError("server did not start in 30 s")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if hasattr(self, "log"):
            self.log.close()

    def public_key(self, product: str = "my-app") -> str:
        return (self.data_dir / "keys" / f"{product}.pub").read_text().strip()

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        cmd = [sys.executable, "-m", "licentia", *args, "--data-dir", str(self.data_dir)]
        if self.database_url:
            cmd += ["--database-url", self.database_url]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[LiveServer]:
    """A real server process on SQLite with the bootstrapped product ``my-app``."""
    server = LiveServer(tmp_path / "server").start()
    yield server
    server.stop()
