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

def _cascading(column: str, table: str) -> sa.ForeignKeyConstraint:
    name = op.f(f"fk_case_notes_{column}_{table}")
    return sa.ForeignKeyConstraint([column], [f"{table}.id"], name=name, ondelete="CASCADE")


# What a note is on: its column, the table that column names, its type. One is set, the others are null; each is
# indexed (a page lists a subject's notes), and deleting the subject takes its notes along.
SUBJECTS = (
    ("license_id", "licenses", sa.Integer()),
    ("device_id", "devices", sa.String(length=32)),
    ("machine_id", "machines", sa.String(length=32)),
)


def upgrade() -> None:
    op.create_table(
        "case_notes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        *(sa.Column(column, kind, nullable=True) for column, _, kind in SUBJECTS),
        sa.Column("author", sa.String(length=320), nullable=False),
        sa.Column("created_at", licentia.server.store.models.UTCDateTime(), nullable=False),
        sa.Column("text", sa.String(length=2000), nullable=False),
        _cascading("product_id", "products"),
        *(_cascading(column, table) for column, table, _ in SUBJECTS),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_notes")),
    )
    for column, _, _ in SUBJECTS:
        op.create_index(op.f(f"ix_case_notes_{column}"), "case_notes", [column], unique=False)


def downgrade() -> None:
    op.drop_table("case_notes")  # its indexes go with it
