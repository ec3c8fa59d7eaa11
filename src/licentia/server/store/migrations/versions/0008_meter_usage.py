"""meter usage

Metered use (policy knob ``meters``): per license, meter and period the units
consumed (``meter_usage``; one conditional UPDATE per consumption keeps the
count exact under concurrent consumers), and the consumptions counted under
an idempotency key (``meter_consumptions``), so a consume the SDK retries
after a lost answer is answered again and never counted twice. Purchase
certificates need no table: they are signed from the license and its purchase
whenever asked for.

Revision ID: 0008
Revises: 0005
Create Date: 2026-11-29 11:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import licentia.server.store.models

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_UTC = licentia.server.store.models.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "meter_usage",
        sa.Column("license_id", sa.Integer(), nullable=False),
        sa.Column("meter", sa.String(length=64), nullable=False),
        sa.Column("period_start", _UTC(), nullable=False),
        sa.Column("used", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", _UTC(), nullable=False),
        sa.ForeignKeyConstraint(
            ["license_id"], ["licenses.id"], name=op.f("fk_meter_usage_license_id_licenses"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("license_id", "meter", "period_start", name=op.f("pk_meter_usage")),
    )
    op.create_table(
        "meter_consumptions",
        sa.Column("license_id", sa.Integer(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=64), nullable=False),
        sa.Column("meter", sa.String(length=64), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("period_start", _UTC(), nullable=False),
        sa.Column("device_id", sa.String(length=32), nullable=False),
        sa.Column("consumed_at", _UTC(), nullable=False),
        sa.ForeignKeyConstraint(
            ["license_id"],
            ["licenses.id"],
            name=op.f("fk_meter_consumptions_license_id_licenses"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("license_id", "idempotency_key", name=op.f("pk_meter_consumptions")),
    )
    with op.batch_alter_table("meter_consumptions", schema=None) as batch_op:
        batch_op.create_index("ix_meter_consumptions_consumed_at", ["consumed_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("meter_consumptions", schema=None) as batch_op:
        batch_op.drop_index("ix_meter_consumptions_consumed_at")
    op.drop_table("meter_consumptions")
    op.drop_table("meter_usage")
