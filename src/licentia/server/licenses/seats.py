"""Seats: how many machines a license uses, how many it may, and which licenses are full."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from licentia.core.vocabulary import LicenseState
from licentia.server.store.tables import devices, licenses, policies


def seats_used() -> sa.ScalarSelect[Any]:
    """Seats count machines."""
    return (
        sa.select(sa.func.count(sa.distinct(devices.c.machine_id)))
        .where(devices.c.license_id == licenses.c.id)
        .scalar_subquery()
    )


def seat_limit() -> sa.ColumnElement[Any]:
    """The license's own machine limit if it overrides its type's, else the type's."""
    return sa.func.coalesce(licenses.c.policy_overrides["max_devices"].as_integer(), policies.c.max_devices)


def full_licenses(product_id: int, *, among: list[int] | None = None) -> sa.Select[Any]:
    """The product's active licenses at their seat limit, newest first (id, used, limit); of ``among`` if given.

    A license's installations, counted from the license's index alone (no row
    read), bound the machines it uses: only a license with as many
    installations as seats can be full, and only those have their distinct
    machines counted.
    """
    licensed = devices.c.license_id.is_not(None) if among is None else devices.c.license_id.in_(among)
    installed = (
        sa.select(devices.c.license_id, sa.func.count().label("installations"))
        .where(licensed)
        .group_by(devices.c.license_id)
        .subquery("installed")
    )
    used, limit = seats_used(), seat_limit()
    return (
        sa.select(licenses.c.id, used.label("used"), limit.label("limit"))
        .join(policies, policies.c.id == licenses.c.policy_id)
        .join(installed, installed.c.license_id == licenses.c.id)
        .where(
            licenses.c.product_id == product_id,
            licenses.c.state == LicenseState.ACTIVE.value,
            installed.c.installations >= limit,
            used >= limit,
        )
        .order_by(licenses.c.id.desc())
    )
