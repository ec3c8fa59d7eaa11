"""case notes: the vendor's staff annotate a license, an installation or a machine

``case_notes`` holds what staff wrote about a subject of the evidence (who,
when, the text, at most 2,000 characters), added from the admin UI, the
developer API or the CLI and carried by the signed evidence reports as the
vendor's own notes. A note is never edited. An expand step: a new table that
releases before 0016 neither read nor write.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-16 09:38:22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import licentia.server.store.models

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "case_notes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("license_id", sa.Integer(), nullable=True),
        sa.Column("device_id", sa.String(length=32), nullable=True),
        sa.Column("machine_id", sa.String(length=32), nullable=True),
        sa.Column("author", sa.String(length=320), nullable=False),
        sa.Column("created_at", licentia.server.store.models.UTCDateTime(), nullable=False),
        sa.Column("text", sa.String(length=2000), nullable=False),
        sa.ForeignKeyConstraint(
            ["device_id"], ["devices.id"], name=op.f("fk_case_notes_device_id_devices"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["license_id"], ["licenses.id"], name=op.f("fk_case_notes_license_id_licenses"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["machine_id"], ["machines.id"], name=op.f("fk_case_notes_machine_id_machines"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["product_id"], ["products.id"], name=op.f("fk_case_notes_product_id_products"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_notes")),
    )
    with op.batch_alter_table("case_notes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_notes_device_id"), ["device_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_case_notes_license_id"), ["license_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_case_notes_machine_id"), ["machine_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("case_notes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_notes_machine_id"))
        batch_op.drop_index(batch_op.f("ix_case_notes_license_id"))
        batch_op.drop_index(batch_op.f("ix_case_notes_device_id"))
    op.drop_table("case_notes")
