"""floating leases

One table, ``leases``: a floating seat checked out by an installation for its
machine, kept after it ends (released, expired, force released) as history.
Seat counting takes the license's row lock (PostgreSQL) or SQLite's write
lock; ``ix_leases_license_live`` finds a license's live leases under it.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29 10:58:12.802130
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import licentia.server.store.models


revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "leases",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("license_id", sa.Integer(), nullable=False),
        sa.Column("machine_id", sa.String(length=32), nullable=False),
        sa.Column("device_id", sa.String(length=32), nullable=False),
        sa.Column("created_at", licentia.server.store.models.UTCDateTime(), nullable=False),
        sa.Column("heartbeat_at", licentia.server.store.models.UTCDateTime(), nullable=False),
        sa.Column("expires_at", licentia.server.store.models.UTCDateTime(), nullable=False),
        sa.Column("borrowed_until", licentia.server.store.models.UTCDateTime(), nullable=True),
        sa.Column("ended_at", licentia.server.store.models.UTCDateTime(), nullable=True),
        sa.Column("end_reason", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(
            ["device_id"], ["devices.id"], name=op.f("fk_leases_device_id_devices"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["license_id"], ["licenses.id"], name=op.f("fk_leases_license_id_licenses"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["machine_id"], ["machines.id"], name=op.f("fk_leases_machine_id_machines"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["product_id"], ["products.id"], name=op.f("fk_leases_product_id_products"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_leases")),
    )
    with op.batch_alter_table("leases", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_leases_device_id"), ["device_id"], unique=False)
        batch_op.create_index("ix_leases_license_live", ["license_id", "ended_at", "expires_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_leases_machine_id"), ["machine_id"], unique=False)



def downgrade() -> None:
    with op.batch_alter_table("leases", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_leases_machine_id"))
        batch_op.drop_index("ix_leases_license_live")
        batch_op.drop_index(batch_op.f("ix_leases_device_id"))

    op.drop_table("leases")
