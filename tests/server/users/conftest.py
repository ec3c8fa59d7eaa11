"""A product with a license type whose seats are named users, and helpers to sign people in."""

from __future__ import annotations

from typing import Any

import pytest

from tests.server.helpers import Installation

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
