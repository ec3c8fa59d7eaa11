"""Indexes for the dashboard's work queues: a product's installations by status and day, licenses by expiry

The expired-trial leads queue reads a product's expired trials seen this week,
newest day first. By ``(product_id, seen_day)`` it read every installation
seen today, whatever its status, with a look-up of its row each (at 1,000,000
installations, 15,000 rows for 4,800 leads: 77 ms; ten times that at ten
million). By ``(product_id, status, seen_day)`` it reads only today's expired
trials. The expiring-licenses queue read all of a product's licenses to find
those ending within 30 days; by ``(product_id, expires_at)`` it reads the first
eight. ``status`` changes once in a trial's life and ``seen_day`` once a day
(as ``ix_devices_product_seen_day`` and ``ix_devices_status`` already index
them), and ``expires_at`` when a license is renewed: routine status checks keep
their in-place updates.

On PostgreSQL the indexes are built ``CONCURRENTLY``, as in 0013: a rolling
upgrade runs this while older hosts answer checks. An expand step.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-05 18:40:00
"""

from __future__ import annotations

from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None

INDEXES = (
    ("ix_devices_product_status_seen_day", "devices", ["product_id", "status", "seen_day"]),
    ("ix_licenses_product_expires", "licenses", ["product_id", "expires_at"]),
)


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        # CONCURRENTLY cannot run inside a transaction block.
        with op.get_context().autocommit_block():
            for name, table, columns in INDEXES:
                op.create_index(name, table, columns, postgresql_concurrently=True, if_not_exists=True)
        return
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns, if_not_exists=True)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        with op.get_context().autocommit_block():
            for name, table, _columns in INDEXES:
                op.drop_index(name, table_name=table, postgresql_concurrently=True, if_exists=True)
        return
    for name, table, _columns in INDEXES:
        op.drop_index(name, table_name=table, if_exists=True)
