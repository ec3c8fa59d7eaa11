"""product test mode: a product's posts kept apart, echoed and emailed, never counted

``products.test_mode`` (off by default) and ``products.test_email`` (where each
test post is emailed); ``test_posts`` holds the posts of a product in test mode,
apart from devices, events and every count. An expand step: releases before
0017 neither read nor write them, and a product stays out of test mode until
the vendor turns it on.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-17 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import licentia.server.store.models

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def _kept(name: str) -> sa.Column[object]:
    """A test post's JSON as received (the body, the server's facts)."""
    return sa.Column(name, licentia.server.store.models.JSONType, nullable=False)


def upgrade() -> None:
    # Plain ADD COLUMN on both databases: a batch copy of products on SQLite would cascade its deletes.
    op.add_column("products", sa.Column("test_mode", sa.Boolean(), server_default=sa.false(), nullable=False))
    op.add_column("products", sa.Column("test_email", sa.String(length=320), nullable=True))
    op.create_table(
        "test_posts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("received_at", licentia.server.store.models.UTCDateTime(), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        _kept("body"),
        _kept("server_facts"),
        sa.ForeignKeyConstraint(
            ["product_id"], ["products.id"], name=op.f("fk_test_posts_product_id_products"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_test_posts")),
    )
    op.create_index(op.f("ix_test_posts_product_id"), "test_posts", ["product_id"], unique=False)


def downgrade() -> None:
    op.drop_table("test_posts")
    op.drop_column("products", "test_email")
    op.drop_column("products", "test_mode")
