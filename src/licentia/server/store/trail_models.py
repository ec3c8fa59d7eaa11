"""Hitek's proxy-log trail: the GETs an application sends before posting an event (docs/privacy.md).

Each row is one part of one event's trail as the server received it, unauthenticated: the
product, the mode, the client event id the event's POST carries (the link to the event, read
at display time: the GET comes first), the part number and its fields. A repeated GET (a
retried flush) is recorded once: ``(product_id, client_event_id, part)`` is unique.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from licentia.server.store.models import Base


class TrailRequest(Base):
    __tablename__ = "trail_requests"
    __table_args__ = (
        sa.UniqueConstraint("product_id", "client_event_id", "part", name="uq_trail_requests_product_event_part"),
        sa.Index("ix_trail_requests_received_at", "received_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(sa.ForeignKey("products.id", ondelete="CASCADE"))
    mode: Mapped[str] = mapped_column(sa.String(16))
    client_event_id: Mapped[str] = mapped_column(sa.String(64))
    part: Mapped[int]
    # The part that ended with ``end=1``: a trail whose last part arrived is whole.
    last: Mapped[bool]
    fields: Mapped[dict[str, Any]]
    server_facts: Mapped[dict[str, Any]]
    received_at: Mapped[dt.datetime]
