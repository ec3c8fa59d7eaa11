"""Fixtures for evidence tests: reading events back, and a product with client facts on."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from licentia.server.store.models import Event, Product, table_of


def events_of(engine: Any, kind: str | None = None) -> list[Any]:
    events = table_of(Event)
    query = sa.select(events).order_by(events.c.id)
    if kind is not None:
        query = query.where(events.c.kind == kind)
    with engine.connect() as conn:
        return list(conn.execute(query).all())


@pytest.fixture
def collecting(engine: Any, product: Any) -> Any:
    """The ``acme`` product with client facts collection turned on."""
    products = table_of(Product)
    with engine.begin() as conn:
        conn.execute(products.update().where(products.c.id == product.id).values(collect_facts=True))
    return product
