"""freed seats and transfer grants: a license type's transfer limit on every path

A seat the customer or the application gives back (``/v1/deactivate``, the
portal's "free this seat", an air-gapped deactivation proof) is written to
``freed_seats``; the activation that takes it on another machine is a transfer,
counted against the license type's ``transfer_limit`` per
``transfer_period_days`` (``devices/transfers.py``). ``transfer_grants`` holds
the transfers the vendor's staff granted one license beyond that limit.

Before this release only the portal counted transfers, from its audit entries;
those are not carried over: every license starts with its full allowance.
An expand step: two new tables that releases before 0014 neither read nor write.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05 08:31:56
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

import licentia.server.store.models

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def _license_table(name: str, *columns: sa.Column[Any]) -> None:
    """A table of rows about one license: an id, the license (its rows go with it, indexed), ``columns``."""
    op.create_table(
        name,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("license_id", sa.Integer(), nullable=False),
        *columns,
        sa.ForeignKeyConstraint(
            ["license_id"], ["licenses.id"], name=op.f(f"fk_{name}_license_id_licenses"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{name}")),
    )
    with op.batch_alter_table(name, schema=None) as batch_op:
        batch_op.create_index(batch_op.f(f"ix_{name}_license_id"), ["license_id"], unique=False)


def upgrade() -> None:
    _license_table(
        "freed_seats",
        sa.Column("machine_id", sa.String(length=32), nullable=False),
        sa.Column("freed_at", licentia.server.store.models.UTCDateTime(), nullable=False),
        sa.Column("freed_by", sa.String(length=16), nullable=False),
        sa.Column("taken_at", licentia.server.store.models.UTCDateTime(), nullable=True),
        sa.Column("taken_by", sa.String(length=32), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=True),
    )
    _license_table(
        "transfer_grants",
        sa.Column("transfers", sa.Integer(), nullable=False),
        sa.Column("granted_at", licentia.server.store.models.UTCDateTime(), nullable=False),
        sa.Column("granted_by", sa.String(length=320), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=True),
    )


def downgrade() -> None:
    for name in ("transfer_grants", "freed_seats"):
        with op.batch_alter_table(name, schema=None) as batch_op:
            batch_op.drop_index(batch_op.f(f"ix_{name}_license_id"))
        op.drop_table(name)
