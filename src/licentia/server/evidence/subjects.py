"""What an evidence report is about: one license key or one device, with its whole timeline.

A license's timeline is every event of every device ever bound to it (devices
bound now, and devices whose events name the license: activations, refused
activations beyond the seat limit, clones), so a copy that was refused a seat
still shows up in the report against the key it tried. A timeline longer than
:data:`MAX_EVENTS` keeps the newest; a device that named the license only
before them is then not listed (the report says it was cut).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from licentia.core.licensekeys import KeyFormatError, key_hash, normalize_key
from licentia.core.trail import TRAIL_MODES
from licentia.server.errors import ApiError, ErrorCode
from licentia.server.events.trail import trails_of
from licentia.server.evidence.notes import notes_about
from licentia.server.fields import MAX_ROW_ID
from licentia.server.store.tables import customers, devices, events, licenses, products

# A license's report reads at most this many events; a larger history is cut
# (newest kept) and the report says so rather than exhausting the server.
MAX_EVENTS = 20_000
# Reads of a license's timeline while it names devices not yet in it (each round adds their events).
_DISCOVERY_ROUNDS = 3


@dataclass
class Subject:
    kind: str  # "license" | "device"
    product: Any
    license: Any | None
    customer: Any | None
    devices: list[Any] = field(default_factory=list)
    events: list[Any] = field(default_factory=list)
    truncated: bool = False
    # The vendor's case notes on the license, the installations and their machines (evidence.notes).
    notes: list[dict[str, Any]] = field(default_factory=list)
    # The proxy-log trail of its install, register and usage events, by client event id (events.trail).
    trails: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def label(self) -> str:
        if self.kind == "license" and self.license is not None:
            return f"license {self.license.key_prefix} (id {self.license.id})"
        return f"device {self.devices[0].id}" if self.devices else "device"


def find_license(conn: sa.Connection, ref: str) -> Any:
    """A license by id, full key (matched by hash, never stored) or key prefix; ambiguity is an error."""
    text = ref.strip()
    try:
        full = normalize_key(text)
    except KeyFormatError:
        full = None
    if full is not None:
        row = conn.execute(sa.select(licenses).where(licenses.c.key_hash == key_hash(full))).first()
        if row is None:
            raise ApiError(ErrorCode.UNKNOWN_LICENSE, "no license with this key")
        return row
    # ASCII digits only ("²" is a digit to str.isdigit, not to int), and within a
    # row id's 64 bits: a longer number is tried as a key prefix, never bound as an id.
    if text.isascii() and text.isdigit() and int(text) <= MAX_ROW_ID:
        row = conn.execute(sa.select(licenses).where(licenses.c.id == int(text))).first()
        if row is not None:
            return row
    prefix = text.replace("-", "").upper()
    if len(prefix) < 3:
        raise ApiError(
            ErrorCode.INVALID_REFERENCE, "give a license id, a full key or at least 3 characters of its prefix"
        )
    rows = conn.execute(
        sa.select(licenses).where(licenses.c.key_prefix.startswith(prefix[:8])).order_by(licenses.c.id).limit(11)
    ).all()
    if not rows:
        raise ApiError(ErrorCode.UNKNOWN_LICENSE, f"no license whose key starts with {prefix[:8]!r}")
    if len(rows) > 1:
        ids = ", ".join(str(r.id) for r in rows[:10])
        raise ApiError(ErrorCode.AMBIGUOUS_LICENSE, f"several licenses match {prefix[:8]!r} (ids {ids}); give the id")
    return rows[0]


def _timeline(conn: sa.Connection, product_id: int, condition: Any) -> tuple[list[Any], bool]:
    """The newest :data:`MAX_EVENTS` events matching ``condition``, oldest first, and whether older ones were cut.

    Read a calendar month at a time from the product's newest event back,
    until enough are found: on PostgreSQL each read is one month's partition,
    and a license with 100,000 events among ten million is read for its
    newest months only, not all of it sorted to keep the newest.
    """
    oldest, newest = conn.execute(
        sa.select(sa.func.min(events.c.received_at), sa.func.max(events.c.received_at)).where(
            events.c.product_id == product_id
        )
    ).one()
    if newest is None:
        return [], False
    rows: list[Any] = []
    upper, lower = None, _month_start(newest)
    while True:
        window = [events.c.received_at >= lower, *([events.c.received_at < upper] if upper is not None else [])]
        rows += conn.execute(
            sa.select(events)
            .where(condition, *window)
            .order_by(events.c.received_at.desc(), events.c.id.desc())
            .limit(MAX_EVENTS + 1 - len(rows))
        ).all()
        if len(rows) > MAX_EVENTS or lower <= oldest:
            break
        upper, lower = lower, _month_start(lower - dt.timedelta(days=1))
    kept = sorted(rows[:MAX_EVENTS], key=lambda r: (r.received_at, r.id))
    return kept, len(rows) > MAX_EVENTS


def _month_start(at: dt.datetime) -> dt.datetime:
    return at.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def _product_and_customer(conn: sa.Connection, product_id: int, customer_id: int | None) -> tuple[Any, Any]:
    product = conn.execute(sa.select(products).where(products.c.id == product_id)).one()
    customer = None
    if customer_id is not None:
        customer = conn.execute(sa.select(customers).where(customers.c.id == customer_id)).first()
    return product, customer


def license_subject(conn: sa.Connection, ref: str) -> Subject:
    lic = find_license(conn, ref)
    # The devices bound now, then those whose events name the license (a copy refused a seat, a
    # device moved to another key): found in the timeline read, which is read again with them.
    device_ids = set(conn.execute(sa.select(devices.c.id).where(devices.c.license_id == lic.id)).scalars())
    for _ in range(_DISCOVERY_ROUNDS):
        condition = events.c.license_id == lic.id
        if device_ids:
            condition = sa.or_(condition, events.c.device_id.in_(sorted(device_ids)))
        timeline, truncated = _timeline(conn, lic.product_id, condition)
        named = {r.device_id for r in timeline if r.license_id == lic.id and r.device_id is not None}
        if named <= device_ids:
            break
        device_ids |= named
    rows = (
        conn.execute(
            sa.select(devices).where(devices.c.id.in_(sorted(device_ids))).order_by(devices.c.first_seen)
        ).all()
        if device_ids
        else []
    )
    product, customer = _product_and_customer(conn, lic.product_id, lic.customer_id)
    subject = Subject("license", product, lic, customer, list(rows), timeline, truncated)
    return _with_notes(conn, subject)


def device_subject(conn: sa.Connection, device_id: str) -> Subject:
    """One installation with its lineage: the ones it replaced and that replaced it count as one."""
    row = conn.execute(sa.select(devices).where(devices.c.id == device_id.strip())).first()
    if row is None:
        raise ApiError(ErrorCode.UNKNOWN_DEVICE, f"no device {device_id!r}")
    members = lineage(conn, row)
    lic = None
    if row.license_id is not None:
        lic = conn.execute(sa.select(licenses).where(licenses.c.id == row.license_id)).first()
    ids = [member.id for member in members]
    timeline, truncated = _timeline(
        conn, row.product_id, events.c.device_id == row.id if len(ids) == 1 else events.c.device_id.in_(ids)
    )
    product, customer = _product_and_customer(conn, row.product_id, lic.customer_id if lic is not None else None)
    return _with_notes(conn, Subject("device", product, lic, customer, members, timeline, truncated))


def _with_notes(conn: sa.Connection, subject: Subject) -> Subject:
    """The notes on everything the report covers: its license, its installations and their machines."""
    subject.notes = notes_about(
        conn,
        license_ids=[subject.license.id] if subject.license is not None else [],
        device_ids=[row.id for row in subject.devices],
        machine_ids=[row.machine_id for row in subject.devices],
    )
    reported = [e.client_event_id for e in subject.events if e.kind in TRAIL_MODES]
    subject.trails = trails_of(conn, product_id=subject.product.id, event_ids=reported)
    return subject


def lineage(conn: sa.Connection, row: Any, known: dict[str, Any] | None = None) -> list[Any]:
    """``row`` first, then the installations linked to it by recognised reinstalls, oldest first.

    Recognition without a credential makes a new installation linked to the one
    it replaces (``previous_id``, ``superseded_by``); the whole chain is one
    installation to the vendor. Rows in ``known`` are not read again.
    """
    found: dict[str, Any] = {row.id: row}
    rows = dict(known or {})
    pending = _links(row, found)
    while pending and len(found) < MAX_LINEAGE:
        missing = [device_id for device_id in pending if device_id not in rows]
        if missing:
            rows.update((r.id, r) for r in conn.execute(sa.select(devices).where(devices.c.id.in_(missing))).all())
        step = [rows[device_id] for device_id in pending if device_id in rows]
        found.update((r.id, r) for r in step)
        pending = sorted({link for r in step for link in _links(r, found)})
    others = sorted((r for r in found.values() if r.id != row.id), key=lambda r: (r.first_seen, r.id))
    return [row, *others]


# A chain of reinstalls longer than this is read no further (the report still names the rest by link).
MAX_LINEAGE = 50


def _links(row: Any, found: dict[str, Any]) -> list[str]:
    return [link for link in (row.previous_id, row.superseded_by) if link and link not in found]
