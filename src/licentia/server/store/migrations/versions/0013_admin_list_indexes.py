"""Indexes for the admin lists: last seen and first seen across products, a product's trials ending

The device list sorts every product's installations by the day last seen or
the day first seen, and the product-scoped indexes do not serve an order across
products: at 1,000,000 installations its first page took 1.4-1.6 s
(docs/admin.md). The dashboard's "trials ending" queue reads a product's
machines by trial end, which the product's fingerprint index served only by
reading all of them. None of these columns moves on a routine status check
(``seen_day`` changes once a day per installation, ``first_seen`` never,
``trial_end`` when the vendor extends a trial), so checks keep their in-place
updates.

On PostgreSQL the indexes are built ``CONCURRENTLY``: a rolling upgrade runs this
while older hosts answer checks, and a plain ``CREATE INDEX`` would hold every
write to ``devices`` (every check) for as long as the build takes. An expand step.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-29 14:20:00
"""

from __future__ import annotations

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

INDEXES = (
    ("ix_devices_seen_day", "devices", ["seen_day"]),
    ("ix_devices_first_seen", "devices", ["first_seen"]),
    ("ix_machines_product_trial_end", "machines", ["product_id", "trial_end"]),
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
