"""devices: index the day last seen instead of the instant

Every status check moves ``devices.last_seen``. While it was indexed, no such
update could be a heap-only (HOT) update on PostgreSQL: each one wrote a new
entry into all eight indexes of the table. ``seen_day`` changes once a day and
takes over the index; ``last_seen`` keeps the exact time. A fill factor of 80
leaves room on each page for the new row versions of those in-place updates.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 08:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    with op.batch_alter_table("devices", schema=None) as batch_op:
        batch_op.add_column(sa.Column("seen_day", sa.Date(), nullable=True))
    # last_seen holds naive UTC on both databases.
    op.execute(
        "UPDATE devices SET seen_day = CAST(last_seen AS DATE)"
        if postgresql
        else "UPDATE devices SET seen_day = date(last_seen)"
    )
    with op.batch_alter_table("devices", schema=None) as batch_op:
        batch_op.alter_column("seen_day", existing_type=sa.Date(), nullable=False)
        batch_op.drop_index("ix_devices_product_last_seen")
        batch_op.create_index("ix_devices_product_seen_day", ["product_id", "seen_day"], unique=False)
    if postgresql:
        op.execute("ALTER TABLE devices SET (fillfactor = 80)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE devices RESET (fillfactor)")
    with op.batch_alter_table("devices", schema=None) as batch_op:
        batch_op.drop_index("ix_devices_product_seen_day")
        batch_op.create_index("ix_devices_product_last_seen", ["product_id", "last_seen"], unique=False)
        batch_op.drop_column("seen_day")
