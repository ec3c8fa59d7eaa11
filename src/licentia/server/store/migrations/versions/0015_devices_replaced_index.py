"""The installations replaced by a recognised reinstall, indexed: counts leave them out

A reinstall recognised by fingerprint without its credential is a new
installation linked to the one it replaces (``previous_id``/``superseded_by``);
the dashboard, the rollups and the lists count such a lineage once, by leaving
out the replaced rows (``superseded_by`` set). A partial index holds only those
few rows, so leaving them out of a count at 1,000,000 installations reads them
alone. A routine status check never writes ``superseded_by``, so checks keep
their in-place updates.

On PostgreSQL the index is built ``CONCURRENTLY`` (a rolling upgrade runs this
while older hosts answer checks). An expand step.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-14 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

NAME = "ix_devices_product_superseded"
REPLACED = sa.text("superseded_by IS NOT NULL")


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        # CONCURRENTLY cannot run inside a transaction block.
        with op.get_context().autocommit_block():
            op.create_index(
                NAME,
                "devices",
                ["product_id"],
                postgresql_where=REPLACED,
                postgresql_concurrently=True,
                if_not_exists=True,
            )
        return
    op.create_index(NAME, "devices", ["product_id"], sqlite_where=REPLACED, if_not_exists=True)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        with op.get_context().autocommit_block():
            op.drop_index(NAME, table_name="devices", postgresql_concurrently=True, if_exists=True)
        return
    op.drop_index(NAME, table_name="devices", if_exists=True)
