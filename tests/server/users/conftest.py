"""A product with a license type whose seats are named users, and helpers to sign people in."""

from __future__ import annotations

import json
from typing import Any

import pytest

from licentia.core.signing import load_public_key, verify_document
from tests.server.admin_fixtures import form_token
from tests.server.helpers import Installation, auth
from tests.server.notify import conftest as notify_fixtures
from tests.server.notify.conftest import SmtpServer
from tests.server.portal.conftest import emailing

smtp = notify_fixtures.smtp  # the real SMTP server (aiosmtpd) the portal's sign-in links go to


@pytest.fixture
def settings(settings: Any, smtp: SmtpServer) -> Any:
    return emailing(settings, smtp, "support@vendor.example")


SEATS = 2


def user_type(engine: Any, clock: Any, *, seats: int = SEATS, machines_per_user: int = 2) -> None:
    """The license type "Team" of ``acme``: ``seats`` named users, each on ``machines_per_user`` machines."""
    from licentia.server.policies.schemas import PolicySpec
    from licentia.server.policies.service import create_policy

    knobs = {"seat_unit": "user", "max_devices": seats, "machines_per_user": machines_per_user}
    with engine.begin() as conn:
        create_policy(conn, PolicySpec(name="Team", knobs=knobs), product="acme", actor="test", now=clock.now())


def issue_team(engine: Any, clock: Any, email: str = "lead@team.example") -> Any:
    from licentia.server.licenses.service import issue_license

    with engine.begin() as conn:
        return issue_license(conn, product="acme", email=email, policy="Team", now=clock.now())


@pytest.fixture
def team(engine: Any, clock: Any, product: Any) -> Any:
    """A "Team" license of two user seats, bought by lead@team.example."""
    user_type(engine, clock)
    return issue_team(engine, clock)


def app(client: Any, product: Any, n: int) -> Installation:
    """A fresh installation on machine ``n``, checked in once (its credential)."""
    found = Installation(client, product.public_key, machine=f"um{n}", disk=f"ud{n}", mac=f"un{n}")
    found.check()
    return found


def sign_in(engine: Any, clock: Any, installation: Installation, email: str) -> int:
    """``email`` signs in on ``installation`` (what approving the device code in the portal does)."""
    from licentia.server.users.service import sign_in as bind

    with engine.begin() as conn:
        product_id = conn.exec_driver_sql("SELECT id FROM products WHERE slug = 'acme'").scalar_one()
        return bind(
            conn,
            device_id=installation.device_id,
            product_id=product_id,
            email=email,
            actor=f"customer:{email}",
            now=clock.now(),
        )


def authorize(installation: Installation) -> Any:
    """The installation asks to sign its user in (POST /v1/device/authorize)."""
    assert installation.credential is not None, "check() first: the grant is its installation's"
    return installation.client.post(
        "/v1/device/authorize", json={"product": installation.product}, headers=auth(installation.credential)
    )


def poll(installation: Installation, device_code: str) -> Any:
    """One poll of POST /v1/device/token; approved, it is the installation's status check (token kept)."""
    answer = installation.call("/v1/device/token", device_code=device_code)
    if answer.status_code == 200:
        body = json.loads(answer.content)
        installation.token = verify_document(body["signed"], keys_of(installation), product=installation.product)[
            "token"
        ]
    return answer


def keys_of(installation: Installation) -> dict[str, Any]:
    kid, key = load_public_key(installation.public_key)
    return {kid: key}


def portal_post(client: Any, path: str, **data: str) -> Any:
    """A form of the portal's device page, posted with the signed-in person's CSRF token."""
    page = client.get("/portal/device")
    return client.post(path, data={"csrf": form_token(page.text), **data})
