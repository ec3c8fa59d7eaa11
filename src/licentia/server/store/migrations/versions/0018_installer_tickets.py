"""installer tickets: a signed token in every distributed copy

``installer_tickets`` holds one row per minted ticket (by the vendor, or by the
portal for a customer's download): the product, the release, customer and
license when known, and the SHA-256 of the ticket's token.
``installer_ticket_starts`` holds the installations that started from a ticket;
another computer starting from the same ticket is recorded as a copy of that
download (docs/evidence.md). An expand step: two new tables that releases
before 0016 neither read nor write.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-05 11:55:47
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

from licentia.server.store.models import UTCDateTime

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

_ID = sa.String(length=32)

# Each table: its columns (name, type, nullable), foreign keys (column, table, on delete), indexes (name, columns).
TICKETS = (
    [
        ("id", _ID, False),
        ("product_id", sa.Integer(), False),
        ("release_id", sa.Integer(), True),
        ("version", sa.String(length=64), True),
        ("customer_id", sa.Integer(), True),
        ("license_id", sa.Integer(), True),
        ("source", sa.String(length=16), False),
        ("token_hash", sa.String(length=64), False),
        ("issued_at", UTCDateTime(), False),
        ("issued_by", sa.String(length=200), False),
    ],
    [
        ("customer_id", "customers", "SET NULL"),
        ("license_id", "licenses", "SET NULL"),
        ("product_id", "products", "CASCADE"),
        ("release_id", "releases", "SET NULL"),
    ],
    [
        ("ix_installer_tickets_product_issued", ["product_id", "issued_at"]),
        *((f"ix_installer_tickets_{name}", [name]) for name in ("customer_id", "license_id")),
    ],
)
STARTS = (
    [
        ("id", sa.Integer(), False),
        *((name, _ID, False) for name in ("ticket_id", "device_id", "machine_id")),
        ("started_at", UTCDateTime(), False),
        ("copy", sa.Boolean(), False),
    ],
    [("ticket_id", "installer_tickets", "CASCADE")],
    [(f"ix_installer_ticket_starts_{name}", [name]) for name in ("ticket_id", "device_id")],
)


def _create(name: str, spec: tuple[list[Any], list[tuple[str, str, str]], list[Any]], *unique: str) -> None:
    columns, foreign, indexes = spec
    op.create_table(
        name,
        *(sa.Column(column, kind, nullable=nullable) for column, kind, nullable in columns),
        *(
            sa.ForeignKeyConstraint([column], [f"{table}.id"], name=op.f(f"fk_{name}_{column}_{table}"), ondelete=rule)
            for column, table, rule in foreign
        ),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{name}")),
        *(sa.UniqueConstraint(column, name=op.f(f"uq_{name}_{column}")) for column in unique),
    )
    with op.batch_alter_table(name, schema=None) as batch_op:
        for index, indexed in indexes:
            batch_op.create_index(index, indexed, unique=False)


def upgrade() -> None:
    _create("installer_tickets", TICKETS, "token_hash")
    _create("installer_ticket_starts", STARTS)


def downgrade() -> None:
    op.drop_table("installer_ticket_starts")
    op.drop_table("installer_tickets")
