"""license types: a product's named policies, licenses that reference one

A product had one policy row; it becomes the product's default policy, named
"Default", and a product may now hold several named policies (license types).
Every existing license references its product's default policy, so nothing
a license allowed changes: its per-license overrides stay as they were.

New knobs get the values that describe what the server did until now:
node-locked, perpetual (a license's own ``expires_at`` still applies), no
maintenance limit (every release offered), no entitlements, no meters, no
transfer limit. New license columns: ``policy_id``, ``maintenance_until``
(None: every release) and ``first_activated_at`` (filled from the earliest
activation among the license's installations still bound).

Downgrade keeps what each license allowed: a license of a policy other than
the default gets that policy's device limit and seat release written into
its overrides, then the named policies go.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 08:20:51
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

import licentia.server.store.models

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql")
_UTC = licentia.server.store.models.UTCDateTime
# Column -> the value every existing policy gets (and the server default used only while adding it).
_NEW_POLICY_COLUMNS: list[tuple[str, sa.types.TypeEngine[Any], str]] = [
    ("name", sa.String(length=64), "'Default'"),
    ("is_default", sa.Boolean(), "true"),
    ("kind", sa.String(length=16), "'node_locked'"),
    ("floating_lease_seconds", sa.Integer(), "900"),
    ("borrow_days", sa.Integer(), "0"),
    ("expiry_mode", sa.String(length=16), "'perpetual'"),
    ("entitlements", _JSON, "'{}'"),
    ("meters", _JSON, "'{}'"),
    ("transfer_period_days", sa.Integer(), "365"),
]


def upgrade() -> None:
    with op.batch_alter_table("policies", schema=None) as batch_op:
        for name, type_, default in _NEW_POLICY_COLUMNS:
            batch_op.add_column(sa.Column(name, type_, nullable=False, server_default=sa.text(default)))
        batch_op.add_column(sa.Column("expiry_date", _UTC(), nullable=True))
        batch_op.add_column(sa.Column("expiry_days", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("maintenance_days", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("transfer_limit", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("updated_at", _UTC(), nullable=True))
        batch_op.drop_constraint("uq_policies_product_id", type_="unique")
        batch_op.create_index(batch_op.f("ix_policies_product_id"), ["product_id"], unique=False)
        batch_op.create_unique_constraint("uq_policies_product_name", ["product_id", "name"])
    with op.batch_alter_table("policies", schema=None) as batch_op:
        # The models carry Python defaults only: every insert names its values.
        for name, type_, _default in _NEW_POLICY_COLUMNS:
            batch_op.alter_column(name, existing_type=type_, server_default=None)

    with op.batch_alter_table("licenses", schema=None) as batch_op:
        batch_op.add_column(sa.Column("policy_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("maintenance_until", _UTC(), nullable=True))
        batch_op.add_column(sa.Column("first_activated_at", _UTC(), nullable=True))
    conn = op.get_bind()
    # Every existing license gets its product's policy (until now the only one).
    conn.execute(
        sa.text(
            "UPDATE licenses SET policy_id = (SELECT p.id FROM policies p"
            " WHERE p.product_id = licenses.product_id AND p.is_default)"
        )
    )
    conn.execute(
        sa.text(
            "UPDATE licenses SET first_activated_at = (SELECT min(d.activated_at) FROM devices d"
            " WHERE d.license_id = licenses.id)"
        )
    )
    with op.batch_alter_table("licenses", schema=None) as batch_op:
        batch_op.alter_column("policy_id", existing_type=sa.Integer(), nullable=False)
        batch_op.create_index(batch_op.f("ix_licenses_policy_id"), ["policy_id"], unique=False)
        batch_op.create_foreign_key(batch_op.f("fk_licenses_policy_id_policies"), "policies", ["policy_id"], ["id"])


def downgrade() -> None:
    conn = op.get_bind()
    rows = conn.execute(
        sa.text(
            "SELECT l.id, l.policy_overrides, p.max_devices, p.seat_release_days FROM licenses l"
            " JOIN policies p ON p.id = l.policy_id WHERE NOT p.is_default"
        )
    ).all()
    licenses = sa.table("licenses", sa.column("id"), sa.column("policy_overrides", _JSON))
    for row in rows:
        overrides = row.policy_overrides
        if isinstance(overrides, str):  # SQLite returns JSON text through sa.text()
            overrides = json.loads(overrides)
        kept = {"max_devices": row.max_devices, "seat_release_days": row.seat_release_days, **(overrides or {})}
        kept = {k: v for k, v in kept.items() if k in ("max_devices", "seat_release_days") and v}
        conn.execute(licenses.update().where(licenses.c.id == row.id).values(policy_overrides=kept))
    with op.batch_alter_table("licenses", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_licenses_policy_id_policies"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_licenses_policy_id"))
        batch_op.drop_column("first_activated_at")
        batch_op.drop_column("maintenance_until")
        batch_op.drop_column("policy_id")
    conn.execute(sa.text("DELETE FROM policies WHERE NOT is_default"))
    with op.batch_alter_table("policies", schema=None) as batch_op:
        batch_op.drop_constraint("uq_policies_product_name", type_="unique")
        batch_op.drop_index(batch_op.f("ix_policies_product_id"))
        batch_op.create_unique_constraint("uq_policies_product_id", ["product_id"])
        for name in ("updated_at", "transfer_limit", "maintenance_days", "expiry_days", "expiry_date"):
            batch_op.drop_column(name)
        for name, _type, _default in reversed(_NEW_POLICY_COLUMNS):
            batch_op.drop_column(name)
