"""Shared fixtures: real databases (a SQLite file; PostgreSQL when LICENTIA_TEST_POSTGRES_URL
names a server), a server app with a movable clock, and a real server process.

``migrated`` databases are copies of one template migrated per session (tests/databases.py);
server processes start in their own process group and are always reaped (tests/processes.py).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from cryptography.fernet import Fernet

from licentia.core.clock import UTC, ManualClock
from tests.databases import PG_URL, Templates, pg_database
from tests.processes import BusyCpu, LiveServer, free_port, stop_all

if TYPE_CHECKING:
    import sqlalchemy as sa
    from fastapi.testclient import TestClient

    from licentia.server.products.service import CreatedProduct
    from licentia.server.settings import Settings

__all__ = ["PG_URL", "START", "BusyCpu", "LiveServer", "free_port"]

START = dt.datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def _pg_database() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test, dropped afterwards."""
    yield from pg_database()


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
    """An empty database on every backend: the SQLite file, then PostgreSQL.

    A test that asks for ``migrated`` gets its PostgreSQL database created from the
    migrated template at once (one statement instead of creating an empty one, dropping
    it and copying the template).
    """
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'licentia.db'}"
    elif "migrated" in request.fixturenames:
        templates: Templates = request.getfixturevalue("database_templates")
        yield from pg_database(templates)
    else:
        yield from _pg_database()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    from licentia.server.settings import Settings

    return Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        secret_key=Fernet.generate_key().decode(),
        reverse_dns=False,
        product_cache_seconds=0,
    )


@pytest.fixture(scope="session")
def database_templates(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Templates]:
    """Migrated template databases, made once per session on first use."""
    templates = Templates(tmp_path_factory.mktemp("templates"))
    yield templates
    templates.close()


@pytest.fixture
def migrated(settings: Settings, database_templates: Templates) -> Settings:
    """The settings, their database migrated to the head revision (a copy of the template)."""
    database_templates.copy_into(settings.resolved_database_url)
    return settings


@pytest.fixture
def engine(migrated: Settings) -> Iterator[sa.Engine]:
    from licentia.server.store.engine import database_urls, make_sync_engine

    eng = make_sync_engine(database_urls(migrated.resolved_database_url), pool_size=1)
    yield eng
    eng.dispose()


@pytest.fixture
def product(engine: sa.Engine, migrated: Settings, clock: ManualClock) -> CreatedProduct:
    """A product ``acme`` with default policy; ``.public_key`` is what an app pins."""
    from licentia.server.products.service import create_product

    with engine.begin() as conn:
        return create_product(conn, slug="acme", name="Acme Editor", fernet=migrated.fernet(), now=clock.now())


@pytest.fixture
def client(migrated: Settings, product: CreatedProduct, clock: ManualClock) -> Iterator[TestClient]:
    """The app, lifespan running, behind a TestClient; move ``clock`` to move server time."""
    from fastapi.testclient import TestClient

    from licentia.server.app import create_app

    app = create_app(migrated, clock=clock)
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[LiveServer]:
    """A real server process on SQLite with the bootstrapped product ``my-app``."""
    server = LiveServer(tmp_path / "server").start()
    yield server
    server.stop()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """The safety net: no server process outlives the test run, whatever a test did."""
    stop_all()
