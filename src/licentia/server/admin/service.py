"""What the admin pages read: detail views (lists live in ``admin.lists``; changes in each domain's service)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa

from licentia.core.fingerprint import COMPONENTS
from licentia.server.devices.lineage import heads
from licentia.server.store.tables import api_tokens as tokens
from licentia.server.store.tables import (
    devices,
    licenses,
    machines,
    policies,
    products,
)


def all_products(conn: sa.Connection) -> list[sa.Row[Any]]:
    return list(conn.execute(sa.select(products).order_by(products.c.id)).all())


def product_by_id(conn: sa.Connection, product_id: int | None) -> sa.Row[Any] | None:
    """The chosen product, else the first one (most installations have one product)."""
    query = sa.select(products).order_by(products.c.id).limit(1)
    if product_id is not None:
        query = sa.select(products).where(products.c.id == product_id)
    return conn.execute(query).first()


def device_detail(conn: sa.Connection, device_id: str) -> dict[str, Any] | None:
    row = conn.execute(
        sa.select(
            devices,
            products.c.slug.label("product_slug"),
            licenses.c.key_prefix,
            licenses.c.state,
            *(machines.c[f"fp_{name}"] for name in COMPONENTS),
            machines.c.trial_end,
            machines.c.restriction,
            machines.c.restriction_reason,
            machines.c.hardware_changed_at,
        )
        .join(products, products.c.id == devices.c.product_id)
        .join(machines, machines.c.id == devices.c.machine_id)
        .outerjoin(licenses, licenses.c.id == devices.c.license_id)
        .where(devices.c.id == device_id)
    ).first()
    if row is None:
        return None
    components = {name: getattr(row, f"fp_{name}") for name in COMPONENTS}
    # Its history and its machine's installations are read by the page (pages/devices.py).
    return {"device": row, "components": components}


def product_with_policy(conn: sa.Connection, product_id: int) -> tuple[sa.Row[Any], sa.Row[Any]] | None:
    product = conn.execute(sa.select(products).where(products.c.id == product_id)).first()
    if product is None:
        return None
    policy = conn.execute(sa.select(policies).where(policies.c.product_id == product_id, policies.c.is_default)).one()
    return product, policy


def list_tokens(conn: sa.Connection) -> list[Any]:
    return list(
        conn.execute(
            sa.select(
                tokens.c.id,
                tokens.c.name,
                tokens.c.lookup,
                tokens.c.scopes,
                tokens.c.created_at,
                tokens.c.created_by,
                tokens.c.last_used_at,
                tokens.c.revoked_at,
            ).order_by(tokens.c.id.desc())
        ).all()
    )


def counts(conn: sa.Connection, product_id: int, now: dt.datetime) -> dict[str, int]:
    """Live counts of every installation of the product (reads them all: at millions, most of a second).

    The dashboard reads the same figures from the minute's rollups instead
    (``rollups/headline.py``); tests hold the two equal. An installation and
    the reinstalls recognised without its credential count as one.
    """

    def count(*where: Any) -> int:
        return heads(conn, devices.c.product_id == product_id, *where)

    return {
        "devices": count(),
        "trial": count(devices.c.status == "trial"),
        "registered": count(devices.c.status == "registered"),
        "blocked": count(devices.c.status == "blocked"),
        # seen_day narrows the scan to the indexed days; last_seen decides.
        "seen_24h": count(
            devices.c.seen_day >= (now - dt.timedelta(days=1)).astimezone(dt.UTC).date(),
            devices.c.last_seen >= now - dt.timedelta(days=1),
        ),
        "licenses": int(
            conn.execute(
                sa.select(sa.func.count()).select_from(licenses).where(licenses.c.product_id == product_id)
            ).scalar_one()
        ),
    }
