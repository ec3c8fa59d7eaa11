"""A customer's own name for a machine (its label in the customer portal)

The portal lists the machines holding a license's seats; a customer tells
them apart by the computer's name when the vendor collects it, else by what
they call it themselves. Nullable, no default: adding it rewrites no row on
either database. An expand step.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-05 12:00:00
"""

from __future__ import annotations

from alembic import op
from sqlalchemy import Column, String

revision = "0019"
down_revision = "0018"
branch_labels = depends_on = None


def upgrade() -> None:
    op.add_column("machines", Column("label", String(length=64), nullable=True))


def downgrade() -> None:
    # ALTER TABLE ... DROP COLUMN on both databases (SQLite 3.35+): a batch copy of ``machines`` would drop it, and
    # SQLite's cascade would take every installation with it.
    op.drop_column("machines", "label")
