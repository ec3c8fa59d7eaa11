"""air-gapped activations

One row per activation made from an offline machine's request file: the
request's nonce, unique so that a request is used once; the Ed25519 public
key the machine put in its request, which verifies its deactivation proof;
the installation and license it bound, the lease it was given, and who made
it and who freed it (also in the audit log).

Revision ID: 0007
Revises: 0005
Create Date: 2026-11-29 11:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import licentia.server.store.models

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "offline_activations",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("license_id", sa.Integer(), nullable=False),
        sa.Column("device_id", sa.String(length=32), nullable=False),
        sa.Column("request_nonce", sa.String(length=64), nullable=False),
        sa.Column("proof_key", sa.String(length=64), nullable=False),
        sa.Column("lease_until", licentia.server.store.models.UTCDateTime(), nullable=False),
        sa.Column("created_at", licentia.server.store.models.UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("deactivated_at", licentia.server.store.models.UTCDateTime(), nullable=True),
        sa.Column("deactivated_by", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["device_id"], ["devices.id"], name=op.f("fk_offline_activations_device_id_devices"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["license_id"], ["licenses.id"], name=op.f("fk_offline_activations_license_id_licenses"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["product_id"], ["products.id"], name=op.f("fk_offline_activations_product_id_products"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_offline_activations")),
        sa.UniqueConstraint("request_nonce", name=op.f("uq_offline_activations_request_nonce")),
    )
    with op.batch_alter_table("offline_activations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_offline_activations_device_id"), ["device_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_offline_activations_license_id"), ["license_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("offline_activations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_offline_activations_license_id"))
        batch_op.drop_index(batch_op.f("ix_offline_activations_device_id"))
    op.drop_table("offline_activations")
