"""machines and installations: trials, vendor blocks and seats belong to the machine

Until now a device was both the computer and the application's data path on
it, so another data path on unchanged hardware was a new device with a fresh
trial. A *machine* (table ``machines``) now holds the hardware components, the
trial end and the vendor's restriction; a device (an *installation*) points to
its machine. Existing devices become installations; those whose hardware
matches under their product's policy (K of N, at least one strong component)
share one machine. A merged machine keeps the latest trial end of its
installations (nobody's running trial is cut short by the upgrade) and the
vendor's block or suspension of any of them.

The matching rule is written out here as it stood when this migration was
made, so that later changes to ``core.fingerprint`` do not change what this
migration did.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 09:00:00
"""

from __future__ import annotations

import secrets
from collections import defaultdict
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_COMPONENTS = ("machine", "disk", "cpu", "mac")
_STRONG = ("machine", "disk", "mac")
_HARDWARE_COMPONENTS = 3
_VENDOR_RESTRICTIONS = ("blocked", "suspended")


def _matches(stored: dict[str, Any], presented: dict[str, Any], min_match: int) -> bool:
    equal = [name for name, value in presented.items() if value and stored.get(name) == value]
    if not any(name in _STRONG for name in equal):
        return False
    tolerated = max(0, _HARDWARE_COMPONENTS - min_match)
    return len(equal) >= max(1, len(presented) - tolerated)


def _group_into_machines(conn: sa.Connection) -> None:
    min_match: dict[Any, Any] = dict(
        conn.execute(sa.text("SELECT product_id, fingerprint_min_match FROM policies")).all()
    )
    rows = conn.execute(
        sa.text(
            "SELECT id, product_id, external_id, fp_machine, fp_disk, fp_cpu, fp_mac, trial_end, status,"
            " status_reason, first_seen FROM devices ORDER BY product_id, first_seen, id"
        )
    ).all()
    machines: list[dict[str, Any]] = []
    members: list[dict[str, Any]] = []
    # (product, component, hash) -> indexes into ``machines``: the candidates a device may join.
    by_component: dict[tuple[int, str, str], list[int]] = defaultdict(list)
    for row in rows:
        presented = {name: getattr(row, f"fp_{name}") for name in _COMPONENTS if getattr(row, f"fp_{name}")}
        found = None
        if row.external_id is None and presented:
            seen: set[int] = set()
            for name in _STRONG:
                for index in by_component.get((row.product_id, name, presented.get(name) or ""), ()):
                    if index in seen:
                        continue
                    seen.add(index)
                    if _matches(machines[index]["fp"], presented, int(min_match.get(row.product_id, 2))):
                        found = index
                        break
                if found is not None:
                    break
        if found is None:
            found = len(machines)
            machines.append(
                {
                    "id": "mc_" + secrets.token_hex(10),
                    "product_id": row.product_id,
                    "fp": presented,
                    "trial_end": row.trial_end,
                    "restriction": None,
                    "restriction_reason": None,
                    "first_seen": row.first_seen,
                }
            )
            for name in _STRONG:
                if presented.get(name):
                    by_component[(row.product_id, name, presented[name])].append(found)
        machine = machines[found]
        if row.trial_end is not None and (machine["trial_end"] is None or row.trial_end > machine["trial_end"]):
            machine["trial_end"] = row.trial_end
        if row.status in _VENDOR_RESTRICTIONS and row.status_reason != "clone_suspected":
            if machine["restriction"] != "blocked":
                machine["restriction"], machine["restriction_reason"] = row.status, row.status_reason
        members.append({"device": row.id, "machine": machine["id"]})

    machines_table = sa.table(
        "machines",
        *(sa.column(name) for name in ("id", "product_id", "trial_end", "restriction", "restriction_reason")),
        *(sa.column(f"fp_{name}") for name in _COMPONENTS),
        sa.column("first_seen"),
    )
    chunk = 1000
    for start in range(0, len(machines), chunk):
        conn.execute(
            machines_table.insert(),
            [
                {
                    "id": m["id"],
                    "product_id": m["product_id"],
                    "trial_end": m["trial_end"],
                    "restriction": m["restriction"],
                    "restriction_reason": m["restriction_reason"],
                    "first_seen": m["first_seen"],
                    **{f"fp_{name}": m["fp"].get(name) for name in _COMPONENTS},
                }
                for m in machines[start : start + chunk]
            ],
        )
    update = sa.text("UPDATE devices SET machine_id = :machine WHERE id = :device")
    for start in range(0, len(members), chunk):
        conn.execute(update, members[start : start + chunk])


def upgrade() -> None:
    op.create_table(
        "machines",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("fp_machine", sa.String(length=64), nullable=True),
        sa.Column("fp_disk", sa.String(length=64), nullable=True),
        sa.Column("fp_cpu", sa.String(length=64), nullable=True),
        sa.Column("fp_mac", sa.String(length=64), nullable=True),
        sa.Column("trial_end", sa.DateTime(), nullable=True),
        sa.Column("restriction", sa.String(length=16), nullable=True),
        sa.Column("restriction_reason", sa.String(length=200), nullable=True),
        sa.Column("first_seen", sa.DateTime(), nullable=False),
        sa.Column("hardware_changed_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["product_id"], ["products.id"], name=op.f("fk_machines_product_id_products"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_machines")),
    )
    with op.batch_alter_table("machines", schema=None) as batch_op:
        batch_op.create_index("ix_machines_product_disk", ["product_id", "fp_disk"], unique=False)
        batch_op.create_index("ix_machines_product_mac", ["product_id", "fp_mac"], unique=False)
        batch_op.create_index("ix_machines_product_machine", ["product_id", "fp_machine"], unique=False)

    with op.batch_alter_table("devices", schema=None) as batch_op:
        batch_op.add_column(sa.Column("machine_id", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("previous_id", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("superseded_by", sa.String(length=32), nullable=True))

    _group_into_machines(op.get_bind())

    with op.batch_alter_table("devices", schema=None) as batch_op:
        batch_op.alter_column("machine_id", existing_type=sa.String(length=32), nullable=False)
        batch_op.create_index(batch_op.f("ix_devices_machine_id"), ["machine_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_devices_machine_id_machines"), "machines", ["machine_id"], ["id"], ondelete="CASCADE"
        )
        batch_op.drop_index("ix_devices_product_disk")
        batch_op.drop_index("ix_devices_product_mac")
        batch_op.drop_index("ix_devices_product_machine")
        for name in _COMPONENTS:
            batch_op.drop_column(f"fp_{name}")
        batch_op.drop_column("trial_end")


def downgrade() -> None:
    with op.batch_alter_table("devices", schema=None) as batch_op:
        for name in _COMPONENTS:
            batch_op.add_column(sa.Column(f"fp_{name}", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("trial_end", sa.DateTime(), nullable=True))
    conn = op.get_bind()
    columns = ", ".join(f"fp_{name}" for name in _COMPONENTS)
    rows = conn.execute(
        sa.text(
            f"SELECT d.id, m.trial_end, m.restriction, m.restriction_reason, {columns.replace('fp_', 'm.fp_')}"  # noqa: S608
            " FROM devices d JOIN machines m ON m.id = d.machine_id"
        )
    ).all()
    assignments = ", ".join(f"fp_{name} = :fp_{name}" for name in _COMPONENTS)
    update = sa.text(f"UPDATE devices SET trial_end = :trial_end, {assignments} WHERE id = :id")  # noqa: S608
    params = [
        {"id": r.id, "trial_end": r.trial_end, **{f"fp_{n}": getattr(r, f"fp_{n}") for n in _COMPONENTS}} for r in rows
    ]
    for start in range(0, len(params), 1000):
        conn.execute(update, params[start : start + 1000])
    restricted = [{"id": r.id, "status": r.restriction, "reason": r.restriction_reason} for r in rows if r.restriction]
    if restricted:
        conn.execute(sa.text("UPDATE devices SET status = :status, status_reason = :reason WHERE id = :id"), restricted)
    with op.batch_alter_table("devices", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_devices_machine_id_machines"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_devices_machine_id"))
        batch_op.drop_column("superseded_by")
        batch_op.drop_column("previous_id")
        batch_op.drop_column("machine_id")
        batch_op.create_index("ix_devices_product_machine", ["product_id", "fp_machine"], unique=False)
        batch_op.create_index("ix_devices_product_mac", ["product_id", "fp_mac"], unique=False)
        batch_op.create_index("ix_devices_product_disk", ["product_id", "fp_disk"], unique=False)
    with op.batch_alter_table("machines", schema=None) as batch_op:
        batch_op.drop_index("ix_machines_product_machine")
        batch_op.drop_index("ix_machines_product_mac")
        batch_op.drop_index("ix_machines_product_disk")
    op.drop_table("machines")
