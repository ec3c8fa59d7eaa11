"""proxy trail: Hitek's GET trail and the one-time usage post, per product

``products.proxy_trail`` and ``products.usage_report_once`` (both off by
default); ``trail_requests`` holds the GETs an application of a product with
the trail on sends before posting an install, register or usage event, one row
per part, unique per (product, client event id, part). An expand step: releases
before 0020 neither read nor write them, and a product sends no trail until the
vendor turns it on.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-05 15:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from licentia.server.store.models import JSONType, UTCDateTime

revision = "0020"
down_revision = "0019"
branch_labels = depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN on both databases: a batch copy of products on SQLite would cascade its deletes.
    for name in ("proxy_trail", "usage_report_once"):
        op.add_column("products", sa.Column(name, sa.Boolean(), server_default=sa.false(), nullable=False))
    op.create_table(
        "trail_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("client_event_id", sa.String(length=64), nullable=False),
        sa.Column("part", sa.Integer(), nullable=False),
        sa.Column("last", sa.Boolean(), nullable=False),
        sa.Column("fields", JSONType, nullable=False),
        sa.Column("server_facts", JSONType, nullable=False),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["product_id"], ["products.id"], name=op.f("fk_trail_requests_product_id_products"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trail_requests")),
        sa.UniqueConstraint(
            "product_id", "client_event_id", "part", name=op.f("uq_trail_requests_product_event_part")
        ),
    )
    op.create_index("ix_trail_requests_received_at", "trail_requests", ["received_at"], unique=False)


def downgrade() -> None:
    op.drop_table("trail_requests")
    for name in ("usage_report_once", "proxy_trail"):
        op.drop_column("products", name)
