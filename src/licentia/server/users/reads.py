"""What a person sees of their own user seats (the portal's home): the licenses naming them, whoever bought them."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from licentia.server.store.tables import customers, devices, license_users, licenses, organisations, policies, products


def seats_of(conn: sa.Connection, *, email: str) -> list[dict[str, Any]]:
    """The user licenses naming ``email`` (seat held or taken at their first sign-in), with their machines' count."""
    machines = (
        sa.select(sa.func.count(sa.distinct(devices.c.machine_id)))
        .where(devices.c.license_id == license_users.c.license_id, devices.c.user_email == license_users.c.email)
        .correlate(license_users)
        .scalar_subquery()
    )
    rows = conn.execute(
        sa.select(
            licenses.c.id.label("license_id"),
            products.c.name.label("product_name"),
            policies.c.name.label("type_name"),
            customers.c.email.label("bought_by"),
            organisations.c.name.label("organisation"),
            license_users.c.seated_at,
            license_users.c.last_active_at,
            machines.label("machines"),
        )
        .select_from(license_users)
        .join(licenses, licenses.c.id == license_users.c.license_id)
        .join(products, products.c.id == licenses.c.product_id)
        .join(policies, policies.c.id == licenses.c.policy_id)
        .outerjoin(customers, customers.c.id == licenses.c.customer_id)
        .outerjoin(organisations, organisations.c.id == licenses.c.organisation_id)
        .where(license_users.c.email == email.lower(), license_users.c.freed_at.is_(None))
        .order_by(products.c.name, licenses.c.id)
    ).all()
    return [dict(row._mapping) for row in rows]
