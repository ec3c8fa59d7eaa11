"""The rows a status check reads and writes, and the guards on every write.

An installation is read together with the columns of its machine that a
decision needs (prefixed ``m_``): one statement per batch reads every
installation the batch names, their machines and, in a second, their licenses.

Every installation write of the hot path is a compare-and-set on what its
decision was read from (see :data:`GUARDS`). Machine writes are rare (a new
machine, a hardware change) and are plain updates of the columns they own.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import secrets
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from licentia.core.fingerprint import COMPONENTS, WEAK_COMPONENTS, match_count, matches
from licentia.server.store.batch import BatchScope, RowChanged
from licentia.server.store.raw import BulkUpdate, Statement
from licentia.server.store.tables import devices, machines

if TYPE_CHECKING:  # the rows' types: for mypy only, never imported at run time
    from licentia.server.devices.row_types import CheckProductRow, Columns, CustomerLicenseRow, DeviceRow

_MACHINE_COLUMNS = (
    *(f"fp_{name}" for name in COMPONENTS),
    "trial_end",
    "restriction",
    "restriction_reason",
)
_DEVICE_SELECT = (
    "SELECT d.*, "
    + ", ".join(f"m.{c} AS m_{c}" for c in _MACHINE_COLUMNS)
    + (" FROM devices d JOIN machines m ON m.id = d.machine_id")
)
_DEVICE_KW: dict[str, Any] = {
    "datetimes": ("first_seen", "last_seen", "activated_at", "m_trial_end"),
    "dates": ("seen_day",),
    "json_columns": ("facts",),
    "booleans": ("is_virtual", "clone_suspected"),
}
_LICENSE_KW: dict[str, Any] = {
    "datetimes": ("expires_at", "created_at", "updated_at", "maintenance_until", "first_activated_at"),
    "json_columns": ("features", "policy_overrides"),
}
DEVICE_BY_ID = Statement(_DEVICE_SELECT + " WHERE d.id = :id", **_DEVICE_KW)
# A license is read with its customer's display name: the status document names the licensee.
_LICENSE_SELECT = "SELECT l.*, c.name AS customer_name FROM licenses l LEFT JOIN customers c ON c.id = l.customer_id"
LICENSE_BY_ID = Statement(_LICENSE_SELECT + " WHERE l.id = :id", **_LICENSE_KW)
_DEVICES_BY_IDS = Statement(
    _DEVICE_SELECT + " WHERE d.id = ANY(:ids)",
    sqlite=_DEVICE_SELECT + " WHERE d.id IN (SELECT value FROM json_each(:ids))",
    **_DEVICE_KW,
)
_LICENSES_BY_IDS = Statement(
    _LICENSE_SELECT + " WHERE l.id = ANY(:ids)",
    sqlite=_LICENSE_SELECT + " WHERE l.id IN (SELECT value FROM json_each(:ids))",
    **_LICENSE_KW,
)

# The guards of every installation write: the token (two copies of one state
# checking at once through two workers must not both get a live token), the
# status and the license (a vendor's block, trial extension or freed seat made
# meanwhile is never overwritten by a decision taken on the old row: the
# vendor's changes to a machine rewrite the status of its installations, so
# this guard sees them too).
GUARDS = {"token_hash": "text", "status": "text", "license_id": "integer"}
# What a routine check writes, always all of it, so that the checks of a batch
# share few statements. None of these columns is indexed: PostgreSQL then updates
# the row in place (HOT) without a new entry in each of the table's indexes.
# The indexed ones (status, seen_day) are written only by the checks that change
# them, the first of the day for seen_day. (Types are PostgreSQL's, for BulkUpdate.)
_TOUCHED_COLUMNS = {
    "last_seen": "timestamp",
    "usage_count": "bigint",
    "token_hash": "text",
    "prev_token_hash": "text",
    "app_version": "text",
    "os_name": "text",
    "facts": "jsonb",
}
_STATUS_COLUMNS = {"status": "text", "status_reason": "text"}
_DAY_COLUMNS = {"seen_day": "date"}
_DEVICE_TYPES = {
    **_TOUCHED_COLUMNS,
    **_STATUS_COLUMNS,
    **_DAY_COLUMNS,
    "license_id": "integer",
    "activated_at": "timestamp",
    "clone_suspected": "boolean",
    "superseded_by": "text",
    "data_path_hash": "text",
}
# (status changes, first check of the day) -> the statement for the routine write.
_ROUTINE_UPDATES = {
    (status, day): BulkUpdate(
        "devices",
        key="id",
        columns={**_TOUCHED_COLUMNS, **(_STATUS_COLUMNS if status else {}), **(_DAY_COLUMNS if day else {})},
        guards=GUARDS,
    )
    for status in (False, True)
    for day in (False, True)
}
ROUTINE_COLUMNS = frozenset(_ROUTINE_UPDATES[True, True].columns)
_device_updates: dict[tuple[str, ...], BulkUpdate] = {}


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def new_device_id() -> str:
    return "dv_" + secrets.token_hex(10)


def new_machine_id() -> str:
    return "mc_" + secrets.token_hex(10)


def machine_components(row: Columns) -> dict[str, str | None]:
    """The hardware components of the installation's machine, as read with it."""
    return {name: row[f"m_fp_{name}"] for name in COMPONENTS}


def read_ahead(conn: sa.Connection, device_ids: list[Any]) -> dict[Any, Any]:
    """The installations a writer batch will check (with their machines), and their licenses."""
    rows: dict[Any, Any] = {("device", r["id"]): r for r in _DEVICES_BY_IDS.all(conn, ids=list(set(device_ids)))}
    license_ids = list({r["license_id"] for r in rows.values() if r["license_id"] is not None})
    if license_ids:
        rows.update((("license", r["id"]), r) for r in _LICENSES_BY_IDS.all(conn, ids=license_ids))
    return rows


def read_device(conn: sa.Connection, scope: BatchScope | None, device_id: str) -> DeviceRow | None:
    row = scope.rows.get(("device", device_id)) if scope is not None else None
    return row if row is not None else DEVICE_BY_ID.first(conn, id=device_id)


def read_license(conn: sa.Connection, scope: BatchScope | None, license_id: int) -> CustomerLicenseRow | None:
    row = scope.rows.get(("license", license_id)) if scope is not None else None
    return row if row is not None else LICENSE_BY_ID.first(conn, id=license_id)


def _as_read(device: DeviceRow) -> dict[str, Any]:
    """The guard values of ``device`` as it was read, keyed as BulkUpdate expects."""
    params: dict[str, Any] = {"id": device.id}
    for name in GUARDS:
        params[f"read_{name}"] = device[name]
    return params


def update_device(conn: sa.Connection, device: DeviceRow, values: dict[str, Any]) -> None:
    """UPDATE the installation now, if it is still as read; one cached statement per column set."""
    columns = tuple(sorted(values))
    update = _device_updates.get(columns)
    if update is None:
        update = _device_updates[columns] = BulkUpdate(
            "devices", key="id", columns={name: _DEVICE_TYPES[name] for name in columns}, guards=GUARDS
        )
    if update.run(conn, [{**_as_read(device), **values}]) != 1:
        raise RowChanged(f"device {device.id} changed since it was read")


def defer_routine_update(scope: BatchScope, device: DeviceRow, values: dict[str, Any]) -> None:
    """Leave the routine check's write to the batch's end; later jobs of the batch read it from the scope.

    The row read is brought up to date in place: what the job reads of it
    afterwards (id, machine, flags) is not among ``values``.
    """
    params = _as_read(device)
    changes_status = values["status"] != device.status or values["status_reason"] != device.status_reason
    update = _ROUTINE_UPDATES[changes_status, "seen_day" in values]
    for name in update.columns:
        params[name] = values[name] if name in values else device[name]
    scope.defer(_flush_routine_updates, (update, params))
    device.update(values)
    scope.rows[("device", device.id)] = device


def _flush_routine_updates(conn: sa.Connection, items: list[tuple[BulkUpdate, dict[str, Any]]]) -> None:
    """Run the deferred updates in the order deferred: one statement per run of the same shape."""
    changed, start = 0, 0
    while start < len(items):
        update, end = items[start][0], start + 1
        while end < len(items) and items[end][0] is update:
            end += 1
        changed += update.run(conn, [params for _update, params in items[start:end]])
        start = end
    if changed != len(items):
        raise RowChanged(f"{len(items) - changed} of {len(items)} devices changed since they were read")


@functools.cache
def _machines_by_components(names: tuple[str, ...]) -> sa.Select[Any]:
    """The product's latest 50 machines with any of these components: one indexed look-up per component, joined.

    With an OR of the components, SQLite, which keeps no statistics here, read every machine of the
    product instead, at each first contact, on the event loop (3.1 ms at 10,000 machines, growing with
    the fleet). Built once per set of components, with bound values.
    """
    product_id: sa.BindParameter[int] = sa.bindparam("product_id", type_=sa.Integer)
    found = sa.union(
        *(
            sa.select(machines).where(
                machines.c.product_id == product_id, machines.c[f"fp_{n}"] == sa.bindparam(f"fp_{n}")
            )
            for n in names
        )
    ).subquery()
    return sa.select(found).order_by(found.c.first_seen.desc()).limit(50)


def find_machine(conn: sa.Connection, product: CheckProductRow, presented: dict[str, str]) -> sa.Row[Any] | None:
    """The known machine these components match best (K of N, the product's minimum), or None."""
    strong = [(name, value) for name, value in presented.items() if name not in WEAK_COMPONENTS]
    if not strong:
        return None
    if conn.dialect.name == "postgresql":
        # Two first contacts of one new computer through two workers must not make
        # two machines (two trials): a lock per strong component, in one order, until commit.
        for key in sorted(
            f"{product.id}:{name}:{value}" for name, value in presented.items() if name not in WEAK_COMPONENTS
        ):
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"), {"key": key})
    names = tuple(sorted(name for name, _value in strong))
    rows = conn.execute(
        _machines_by_components(names), {"product_id": product.id, **{f"fp_{n}": v for n, v in strong}}
    ).all()
    best, best_count = None, 0
    for row in rows:
        stored = {name: getattr(row, f"fp_{name}") for name in COMPONENTS}
        if matches(stored, presented, product.fingerprint_min_match):
            count = match_count(stored, presented)
            if count > best_count:
                best, best_count = row, count
    return best


def insert_machine(
    conn: sa.Connection, *, product_id: int, components: dict[str, str], trial_end: dt.datetime, now: dt.datetime
) -> str:
    machine_id = new_machine_id()
    conn.execute(
        machines.insert().values(
            id=machine_id,
            product_id=product_id,
            trial_end=trial_end,
            first_seen=now,
            **{f"fp_{name}": components.get(name) for name in COMPONENTS},
        )
    )
    return machine_id


def move_machine_hardware(
    conn: sa.Connection, scope: BatchScope | None, device: DeviceRow, components: dict[str, str], now: dt.datetime
) -> None:
    """The machine's hardware is now ``components`` (only the changed ones are given)."""
    conn.execute(
        machines.update()
        .where(machines.c.id == device.machine_id)
        .values(hardware_changed_at=now, **{f"fp_{name}": value for name, value in components.items()})
    )
    # Other installations of this machine read ahead in the same batch see the new hardware too.
    rows = scope.rows.values() if scope is not None else (device,)
    for row in rows:
        if row.get("machine_id") == device.machine_id:
            for name, value in components.items():
                row[f"m_fp_{name}"] = value


def flag_copy(conn: sa.Connection, scope: BatchScope | None, device_id: str) -> None:
    """Mark an installation whose state was seen elsewhere (not guarded: a flag only ever goes up)."""
    conn.execute(devices.update().where(devices.c.id == device_id).values(clone_suspected=True))
    row = scope.rows.get(("device", device_id)) if scope is not None else None
    if row is not None:
        row["clone_suspected"] = True
