"""Single sign-on tests: the app (its clock on real time, since the provider signs with real time) and real
OpenID Connect providers on loopback."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest

from licentia.core.clock import ManualClock
from tests.server.sso.provider import APP, Provider

ADMIN_CLIENT, ADMIN_SECRET = "licentia-admin", "admin client secret"
ACME_CLIENT, ACME_SECRET = "licentia-acme", "acme client secret"
GLOBEX_CLIENT, GLOBEX_SECRET = "licentia-globex", "globex client secret"
# A client whose ID tokens live one second (the provider's own setting): to see an expired one refused.
BRIEF_CLIENT, BRIEF_SECRET = "licentia-brief", "brief client secret"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(dt.datetime.now(dt.UTC))


@pytest.fixture
def settings(settings: Any) -> Any:
    settings.public_url = APP  # the callbacks the providers know
    return settings


@pytest.fixture(scope="module")
def provider() -> Iterator[Provider]:
    """The vendor's own provider (admin sign-in) and the first organisation's (portal sign-in)."""
    started = Provider(
        clients={ADMIN_CLIENT: ADMIN_SECRET, ACME_CLIENT: ACME_SECRET, BRIEF_CLIENT: BRIEF_SECRET},
        id_token_ttl={BRIEF_CLIENT: 1},
    ).start()
    yield started
    started.stop()


@pytest.fixture(scope="module")
def second_provider() -> Iterator[Provider]:
    """Another organisation's provider, with its own issuer."""
    started = Provider(clients={GLOBEX_CLIENT: GLOBEX_SECRET}, kid="globex-1").start()
    yield started
    started.stop()


def add_connection(engine: Any, clock: Any, fernet: Any, **spec: Any) -> int:
    from licentia.server.sso.connections import ConnectionSpec, add_connection

    with engine.begin() as conn:
        return add_connection(conn, spec=ConnectionSpec(**spec), fernet=fernet, actor="test", now=clock.now())
