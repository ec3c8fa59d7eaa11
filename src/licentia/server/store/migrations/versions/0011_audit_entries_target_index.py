"""audit_entries: index the object an entry is about

A device's and a license's page show the staff actions on that object beside
its events (one history per object): they read the audit log by target, which
without an index is a scan of the whole log on every page view.

Revision ID: 0011
Revises: 0005
Create Date: 2026-11-29 11:30:00
"""

from __future__ import annotations

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("audit_entries", schema=None) as batch_op:
        batch_op.create_index("ix_audit_entries_target", ["target_type", "target_id", "at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("audit_entries", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_entries_target")
