"""single sign-on: OpenID Connect connections and the sign-in attempts in flight

``sso_connections`` holds the vendor's identity providers: what each is for (``admin``: the admin UI of this
installation; ``portal``: an organisation's people in the customer portal), the issuer, the client id, the
client secret sealed with the server's key, and the email domains it answers for; a portal connection may name
its organisation (``organisation_id``, made by the revision before).
``sso_attempts`` holds each sign-in sent to a provider until it comes back (found by the SHA-256 of its state,
spent once). An expand step: two new tables that earlier releases neither read nor write.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-05 15:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from licentia.server.store.models import UTCDateTime

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sso_connections",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=True),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("issuer", sa.String(length=500), nullable=False),
        sa.Column("client_id", sa.String(length=500), nullable=False),
        sa.Column("client_secret_sealed", sa.Text(), nullable=False),
        sa.Column("email_domains", sa.Text(), nullable=False),
        sa.Column("new_admin_role", sa.String(length=16), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_sso_connections_organisation_id_organisations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sso_connections")),
    )
    with op.batch_alter_table("sso_connections", schema=None) as batch_op:
        batch_op.create_index("ix_sso_connections_purpose", ["purpose"], unique=False)
        batch_op.create_index("ix_sso_connections_organisation_id", ["organisation_id"], unique=False)
    op.create_table(
        "sso_attempts",
        sa.Column("state_hash", sa.String(length=64), nullable=False),
        sa.Column("connection_id", sa.Integer(), nullable=False),
        sa.Column("browser_hash", sa.String(length=64), nullable=False),
        sa.Column("nonce", sa.String(length=64), nullable=False),
        sa.Column("verifier_sealed", sa.Text(), nullable=False),
        sa.Column("next_page", sa.String(length=500), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("used_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            ["sso_connections.id"],
            name=op.f("fk_sso_attempts_connection_id_sso_connections"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("state_hash", name=op.f("pk_sso_attempts")),
    )
    with op.batch_alter_table("sso_attempts", schema=None) as batch_op:
        batch_op.create_index("ix_sso_attempts_connection_id", ["connection_id"], unique=False)
        batch_op.create_index("ix_sso_attempts_expires_at", ["expires_at"], unique=False)


def downgrade() -> None:
    op.drop_table("sso_attempts")
    op.drop_table("sso_connections")
