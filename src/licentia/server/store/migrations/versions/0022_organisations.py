"""organisations: customers that are teams, their members, and the licenses they hold

``organisations`` and ``organisation_members`` (one address per organisation,
role owner/admin/member, its pending invitation as the SHA-256 of its token),
``licenses.organisation_id`` and ``payment_mappings.organisation`` (a mapping
that sells seats to organisations): nullable, no default, so adding them
rewrites no row on either database. An expand step: releases before it neither read
nor write these.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-05 15:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from licentia.server.store.models import UTCDateTime

revision = "0022"
down_revision = "0021"
branch_labels = depends_on = None


def upgrade() -> None:
    op.create_table(
        "organisations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organisations")),
    )
    op.create_table(
        "organisation_members",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("invited_at", UTCDateTime(), nullable=False),
        sa.Column("invited_by", sa.String(length=200), nullable=False),
        sa.Column("joined_at", UTCDateTime(), nullable=True),
        sa.Column("invitation_hash", sa.String(length=64), nullable=True),
        sa.Column("invitation_expires_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_organisation_members_organisation_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organisation_members")),
        sa.UniqueConstraint("organisation_id", "email", name="uq_organisation_members_org_email"),
        sa.UniqueConstraint("invitation_hash", name=op.f("uq_organisation_members_invitation_hash")),
    )
    op.create_index(op.f("ix_organisation_members_email"), "organisation_members", ["email"], unique=False)
    if op.get_bind().dialect.name == "sqlite":
        # ALTER TABLE ADD COLUMN with its REFERENCES: a batch copy of ``licenses`` would drop the table, and
        # SQLite's cascades would take its devices with it.
        op.execute("ALTER TABLE licenses ADD COLUMN organisation_id INTEGER REFERENCES organisations (id)")
    else:
        op.add_column("licenses", sa.Column("organisation_id", sa.Integer(), nullable=True))
        op.create_foreign_key(
            op.f("fk_licenses_organisation_id_organisations"),
            "licenses",
            "organisations",
            ["organisation_id"],
            ["id"],
        )
    op.create_index(op.f("ix_licenses_organisation_id"), "licenses", ["organisation_id"], unique=False)
    # A mapping that sells seats to organisations (nullable, no default: no row rewritten).
    op.add_column("payment_mappings", sa.Column("organisation", sa.Boolean(), nullable=True))


def downgrade() -> None:
    op.drop_column("payment_mappings", "organisation")
    op.drop_index(op.f("ix_licenses_organisation_id"), table_name="licenses")
    if op.get_bind().dialect.name != "sqlite":
        op.drop_constraint(op.f("fk_licenses_organisation_id_organisations"), "licenses", type_="foreignkey")
    # ALTER TABLE ... DROP COLUMN on both databases (SQLite 3.35+), for the reason given above.
    op.drop_column("licenses", "organisation_id")
    op.drop_index(op.f("ix_organisation_members_email"), table_name="organisation_members")
    op.drop_table("organisation_members")
    op.drop_table("organisations")
