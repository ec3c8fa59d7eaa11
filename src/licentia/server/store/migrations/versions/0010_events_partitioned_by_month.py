"""events: partitioned by month on PostgreSQL

Events are the one table that grows without bound (a row per installation per
day, and more). On PostgreSQL the table becomes partitioned by range of
``received_at``, one partition a month in the schema ``event_partitions``,
plus a DEFAULT partition that takes rows of a month not created yet (see
``server/events/partitions.py``): retention drops whole months and time-range
queries read only their months. Existing events are moved into their months.

PostgreSQL requires every unique index of a partitioned table to include the
partition key, so an event's key becomes ``(id, received_at)`` (``id`` stays
unique: one sequence feeds it) and ``(device_id, client_event_id)`` becomes an
ordinary index; the writer keeps events idempotent by looking them up under a
per-installation lock (``server/events/service.py``). The plain index on
``device_id`` alone goes: the new one starts with it. The key is the unique
index ``pk_events`` rather than a PRIMARY KEY constraint: PostgreSQL 15's
``pg_restore --clean`` drops each partition's copy of a primary-key constraint
before the parent's and fails on it, which would break ``licentia restore
--force``; a unique index restores cleanly and enforces the same.

Contract step (``CONTRACT``, listed in docs/operations.md): this swaps the table, so code from before
0010 cannot write events into it (its ``ON CONFLICT (device_id,
client_event_id)`` has no unique index to name). Stop the old processes, run
``licentia migrate``, then start the new ones (docs/operations.md,
"Upgrades"). The copy takes about a minute per few million events.

SQLite: events do not change (one file, one plain table, the unique constraint stays).

Both databases get ``rollup_watermarks`` (additive): how far the daily rollups
are done, so the rollup job recomputes only new or changed days; and two
indexes on devices, ``(product_id, first_seen)`` and ``(product_id,
activated_at)``, for the rollups' daily counts of new installations and
activations, which scanned every installation of the product each minute.

Revision ID: 0010
Revises: 0005
Create Date: 2026-11-29 11:00:00
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from alembic import op

import licentia.server.store.models

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None
# A table swap (PostgreSQL): not additive, so not safe while processes of the previous release still run.
CONTRACT = (
    "events (PostgreSQL): the unique constraint on (device_id, client_event_id) becomes an ordinary index"
    " in a partitioned table; releases before 0010 insert events with ON CONFLICT on it and must be stopped"
    " before this migration runs"
)

SCHEMA = "event_partitions"
_INDEXES = (
    ("ix_events_product_received", "product_id, received_at"),
    ("ix_events_license_received", "license_id, received_at"),
    ("ix_events_kind", "kind"),
)
_FOREIGN_KEYS = (
    ("fk_events_product_id_products", "product_id", "products", "CASCADE"),
    ("fk_events_device_id_devices", "device_id", "devices", "CASCADE"),
    ("fk_events_license_id_licenses", "license_id", "licenses", "SET NULL"),
)


def _foreign_keys(table: str) -> None:
    for name, column, target, on_delete in _FOREIGN_KEYS:
        op.execute(
            f"ALTER TABLE {table} ADD CONSTRAINT {name} FOREIGN KEY ({column})"
            f" REFERENCES {target} (id) ON DELETE {on_delete}"
        )


def _rename_aside(table: str, names: list[str]) -> None:
    for name in names:
        op.execute(f"ALTER INDEX IF EXISTS {name} RENAME TO {name}_old")
    op.execute(f"ALTER TABLE events RENAME TO {table}")


def upgrade() -> None:
    op.create_table(
        "rollup_watermarks",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("last_event_id", sa.BigInteger(), nullable=False),
        sa.Column("closed_through", sa.Date(), nullable=True),
        sa.Column("updated_at", licentia.server.store.models.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_rollup_watermarks")),
    )
    with op.batch_alter_table("devices", schema=None) as batch_op:
        batch_op.create_index("ix_devices_product_first_seen", ["product_id", "first_seen"], unique=False)
        batch_op.create_index("ix_devices_product_activated", ["product_id", "activated_at"], unique=False)
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    from licentia.server.store.partitions import DEFAULT_PARTITION, ensure_months, month_of, next_month

    _rename_aside(
        "events_unpartitioned",
        ["pk_events", "uq_events_device_id", "ix_events_device_id", *(name for name, _ in _INDEXES)],
    )
    op.execute(
        "CREATE TABLE events (LIKE events_unpartitioned INCLUDING DEFAULTS INCLUDING STORAGE)"
        " PARTITION BY RANGE (received_at)"
    )
    op.execute("CREATE UNIQUE INDEX pk_events ON events (id, received_at)")
    op.execute("CREATE INDEX ix_events_device_client ON events (device_id, client_event_id)")
    for name, columns in _INDEXES:
        op.execute(f"CREATE INDEX {name} ON events ({columns})")
    _foreign_keys("events")
    # The id sequence must outlive the old table (DROP TABLE drops the sequences it owns).
    op.execute("ALTER SEQUENCE events_id_seq OWNED BY events.id")
    op.execute(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}")
    op.execute(f"CREATE TABLE {SCHEMA}.{DEFAULT_PARTITION} PARTITION OF events DEFAULT")
    now = dt.datetime.now(dt.UTC)
    oldest = bind.exec_driver_sql("SELECT min(received_at) FROM events_unpartitioned").scalar()
    last = month_of(now)
    for _ in range(3):
        last = next_month(last)
    ensure_months(bind, month_of(oldest) if oldest is not None else month_of(now), last)
    newest = bind.exec_driver_sql("SELECT max(received_at) FROM events_unpartitioned").scalar()
    if newest is not None and month_of(newest) > last:
        ensure_months(bind, last, newest)
    op.execute("INSERT INTO events SELECT * FROM events_unpartitioned")
    op.execute("DROP TABLE events_unpartitioned")
    op.execute("ANALYZE events")


def downgrade() -> None:
    op.drop_table("rollup_watermarks")
    with op.batch_alter_table("devices", schema=None) as batch_op:
        batch_op.drop_index("ix_devices_product_activated")
        batch_op.drop_index("ix_devices_product_first_seen")
    if op.get_bind().dialect.name != "postgresql":
        return
    _rename_aside("events_partitioned", ["pk_events", "ix_events_device_client", *(name for name, _ in _INDEXES)])
    op.execute("CREATE TABLE events (LIKE events_partitioned INCLUDING DEFAULTS INCLUDING STORAGE)")
    op.execute("INSERT INTO events SELECT * FROM events_partitioned")
    op.execute("ALTER TABLE events ADD CONSTRAINT pk_events PRIMARY KEY (id)")
    op.execute("ALTER TABLE events ADD CONSTRAINT uq_events_device_id UNIQUE (device_id, client_event_id)")
    op.execute("CREATE INDEX ix_events_device_id ON events (device_id)")
    for name, columns in _INDEXES:
        op.execute(f"CREATE INDEX {name} ON events ({columns})")
    _foreign_keys("events")
    op.execute("ALTER SEQUENCE events_id_seq OWNED BY events.id")
    op.execute("DROP TABLE events_partitioned")  # and every partition with it
    op.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
