"""named users on licenses, and device authorizations (RFC 8628)

``policies.seat_unit`` ("machine", the default every existing license type
keeps, or "user") and ``policies.machines_per_user`` (3); ``license_users``
holds the people named on a license and the seats they hold; ``devices.user_email`` the
person signed in on an installation of such a license; ``device_authorizations``
the applications' sign-in requests (only the SHA-256 of the device code). An
expand step: releases before 0021 neither read nor write them, and every license
type keeps counting machines.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-05 15:01:56
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from licentia.server.store.models import UTCDateTime

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def _fk(table: str, column: str, target: str, rule: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}"), ondelete=rule
    )


def upgrade() -> None:
    # Plain ADD COLUMN on both databases: a batch copy of devices or policies on SQLite would cascade its deletes.
    op.add_column("policies", sa.Column("seat_unit", sa.String(length=16), server_default="machine", nullable=False))
    op.add_column("policies", sa.Column("machines_per_user", sa.Integer(), server_default="3", nullable=False))
    op.add_column("devices", sa.Column("user_email", sa.String(length=320), nullable=True))
    op.create_table(
        "license_users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("license_id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("assigned_at", UTCDateTime(), nullable=False),
        sa.Column("assigned_by", sa.String(length=200), nullable=False),
        sa.Column("seated_at", UTCDateTime(), nullable=True),
        sa.Column("last_active_at", UTCDateTime(), nullable=True),
        sa.Column("freed_at", UTCDateTime(), nullable=True),
        sa.Column("freed_by", sa.String(length=200), nullable=True),
        _fk("license_users", "license_id", "licenses", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_license_users")),
        sa.UniqueConstraint("license_id", "email", name="uq_license_users_license_email"),
    )
    op.create_index(op.f("ix_license_users_license_id"), "license_users", ["license_id"], unique=False)
    op.create_index(op.f("ix_license_users_email"), "license_users", ["email"], unique=False)
    op.create_table(
        "device_authorizations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("device_code_hash", sa.String(length=64), nullable=False),
        sa.Column("user_code", sa.String(length=16), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("device_id", sa.String(length=32), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("interval_seconds", sa.Integer(), nullable=False),
        sa.Column("last_polled_at", UTCDateTime(), nullable=True),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("license_id", sa.Integer(), nullable=True),
        sa.Column("decided_at", UTCDateTime(), nullable=True),
        _fk("device_authorizations", "product_id", "products", "CASCADE"),
        _fk("device_authorizations", "device_id", "devices", "CASCADE"),
        _fk("device_authorizations", "license_id", "licenses", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_device_authorizations")),
        sa.UniqueConstraint("device_code_hash", name=op.f("uq_device_authorizations_device_code_hash")),
    )
    op.create_index(op.f("ix_device_authorizations_user_code"), "device_authorizations", ["user_code"], unique=False)
    op.create_index(op.f("ix_device_authorizations_device_id"), "device_authorizations", ["device_id"], unique=False)


def downgrade() -> None:
    op.drop_table("device_authorizations")
    op.drop_table("license_users")
    # ALTER TABLE ... DROP COLUMN on both databases (SQLite 3.35+), as 0019 does.
    op.drop_column("devices", "user_email")
    op.drop_column("policies", "machines_per_user")
    op.drop_column("policies", "seat_unit")
