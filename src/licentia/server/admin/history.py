"""One history per object: what the installation did (events) beside what staff did to it (the audit log).

A device's page reads its own events and the staff actions on its machine
(trials, blocks and seats belong to the machine); a license's page reads the
events of its key and of the installations holding its seats, and the staff
actions on the license and on its seats. Runs of routine status checks fold
into one line ("27 checks, 17 Oct-23 Nov, 1.2.0 -> 1.2.1"): the interesting
lines are the others.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from licentia.core.vocabulary import EventKind
from licentia.server.audit import AuditAction, AuditTarget, counted
from licentia.server.evidence.report import kind_names
from licentia.server.store.tables import audit_entries, devices, events

# The newest rows read per page: a device checks in daily, so this is months of history.
MAX_EVENTS = 500
MAX_STAFF = 200
# A check, and the upgrade a check reports, are routine: a run of them folds into one line.
ROUTINE = {EventKind.CHECK.value, EventKind.UPGRADE.value}


@dataclass
class Line:
    at: dt.datetime
    kind: str  # an event kind, or "staff" for an audit entry
    title: str
    who: str | None = None  # the staff member (or API token, or CLI user)
    reason: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    source: str = ""  # the network address an event came from
    device_id: str | None = None
    links: list[tuple[str, str]] = field(default_factory=list)  # (href, text)
    members: int = 1  # lines folded into this one
    checks: int = 0
    since: dt.datetime | None = None  # the first of a folded run
    versions: tuple[str, ...] = ()

    @property
    def folded(self) -> bool:
        return self.members > 1


def _words(value: Any) -> str:
    return str(value if value is not None else "?").replace("_", " ")


# How each staff action reads in a history, from its audit details.
STAFF_TITLES: dict[str, Callable[[dict[str, Any]], str]] = {
    AuditAction.DEVICE_SET_STATUS: lambda d: (
        f"Status set to {_words(d.get('status'))} (was {_words(d.get('previous'))})"
    ),
    AuditAction.DEVICE_EXTEND_TRIAL: lambda d: (
        f"Trial extended by {d.get('days')} days, until {str(d.get('trial_end'))[:10]}"
    ),
    AuditAction.DEVICE_FREE_SEAT: lambda d: "Seat freed",
    AuditAction.LICENSE_REVOKE: lambda d: f"License revoked ({counted(d.get('devices_freed', 0), 'seat')} freed)",
    AuditAction.LICENSE_SUSPEND: lambda d: "License suspended",
    AuditAction.LICENSE_REINSTATE: lambda d: "License reinstated",
    AuditAction.LICENSE_RENEW: lambda d: f"License renewed until {str(d.get('expires_at') or 'never')[:10]}",
    AuditAction.LICENSE_MAX_DEVICES: lambda d: f"Machines allowed set to {d.get('max_devices')}",
    AuditAction.LICENSE_TERMS: lambda d: "License terms changed",
    AuditAction.LICENSE_ISSUE: lambda d: "License issued",
}


def _staff_title(action: str, details: dict[str, Any]) -> str:
    known = STAFF_TITLES.get(action)
    return known(details) if known else _words(action.replace(".", ": "))


def _staff_line(row: Any) -> Line:
    d = dict(row.details or {})
    reason = d.pop("reason", None)
    links = []
    if d.get("device"):
        links.append((f"/admin/devices/{d['device']}", f"device {d['device']}"))
    if d.get("license_id"):
        links.append((f"/admin/licenses/{d['license_id']}", "license"))
    return Line(
        at=row.at,
        kind="staff",
        title=_staff_title(row.action, d),
        who=row.actor,
        reason=reason if isinstance(reason, str) and reason else None,
        details=d,
        links=links,
    )


def _event_line(row: Any, *, names: dict[str, str]) -> Line:
    data = dict(row.data or {})
    links = []
    # A copy's row names the installation it copied (or its twin): one click to the other side.
    if isinstance(data.get("copy_of"), str):
        links.append((f"/admin/devices/{data['copy_of']}", f"copy of {data['copy_of']}"))
    if isinstance(data.get("replaces"), str):
        links.append((f"/admin/devices/{data['replaces']}", f"replaces {data['replaces']}"))
    for other in data.get("installations") or ():
        if isinstance(other, str) and other != row.device_id:
            links.append((f"/admin/devices/{other}", f"other installation {other}"))
    data.pop("other_side", None)  # facts of the other side: in the evidence report
    return Line(
        at=row.received_at,
        kind=row.kind,
        title=names.get(row.kind, row.kind.replace("_", " ")),
        details=data,
        source=str((row.server_facts or {}).get("external_ip") or ""),
        device_id=row.device_id,
        links=links,
        versions=tuple(str(data[k]) for k in ("app_version", "from", "to") if data.get(k)),
        checks=1 if row.kind == EventKind.CHECK else 0,
    )


def _routine(line: Line) -> bool:
    # An upgrade that came with a reinstall or a move is worth its own line.
    return line.kind in ROUTINE and not line.details.get("via")


def fold(lines: Iterable[Line]) -> list[Line]:
    """Lines newest first, each run of routine lines of one installation folded into one."""
    out: list[Line] = []
    for line in sorted(lines, key=lambda x: x.at):
        last = out[-1] if out else None
        if last is not None and _routine(line) and _routine(last) and line.device_id == last.device_id:
            last.members += 1
            last.checks += line.checks
            last.since = last.since or last.at
            last.at = line.at
            last.kind = EventKind.CHECK.value
            last.versions = (*last.versions, *(v for v in line.versions if v not in last.versions))
            continue
        out.append(line)
    for line in out:
        if line.folded and line.since is not None:
            span = f"{line.since:%d %b}-{line.at:%d %b}"
            versions = " -> ".join(line.versions)
            line.title = f"{line.checks} check{'' if line.checks == 1 else 's'}, {span}" + (
                f", {versions}" if versions else ""
            )
            line.details = {}
    return out[::-1]


def _lines(conn: sa.Connection, event_where: Any, staff_where: Any) -> list[Line]:
    names = kind_names()
    rows = conn.execute(
        sa.select(events).where(event_where).order_by(events.c.received_at.desc()).limit(MAX_EVENTS)
    ).all()
    staff = conn.execute(
        sa.select(audit_entries).where(staff_where).order_by(audit_entries.c.at.desc()).limit(MAX_STAFF)
    ).all()
    return fold([*(_event_line(r, names=names) for r in rows), *(_staff_line(r) for r in staff)])


def copies_of(conn: sa.Connection, device_id: str) -> dict[dt.datetime, list[str]]:
    """The installations made for copies of this one, by the time the copy was caught.

    Only the copy's own event names the original (``copy_of``); the original's
    side of the same catch carries the same received time. Read through the
    index on ``events.kind``: copies are rare events.
    """
    found: dict[dt.datetime, list[str]] = {}
    for copy_id, at in conn.execute(
        sa.select(events.c.device_id, events.c.received_at).where(
            events.c.kind == EventKind.CLONE_SUSPECTED.value,
            events.c.data["copy_of"].as_string() == device_id,
        )
    ):
        found.setdefault(at, []).append(copy_id)
    return found


def device_history(conn: sa.Connection, *, device_id: str, machine_id: str) -> list[Line]:
    lines = _lines(
        conn,
        events.c.device_id == device_id,
        sa.and_(audit_entries.c.target_type == AuditTarget.MACHINE.value, audit_entries.c.target_id == machine_id),
    )
    copies = copies_of(conn, device_id)
    for line in lines:
        if line.kind == EventKind.CLONE_SUSPECTED.value and not line.links:
            line.links += [(f"/admin/devices/{c}", f"copied to {c}") for c in copies.get(line.at, [])]
    return lines


def license_history(conn: sa.Connection, *, license_id: int) -> list[Line]:
    holders = sa.select(devices.c.id).where(devices.c.license_id == license_id).scalar_subquery()
    machines = sa.select(devices.c.machine_id).where(devices.c.license_id == license_id).scalar_subquery()
    freed_here = sa.and_(
        audit_entries.c.target_type == AuditTarget.MACHINE.value,
        audit_entries.c.action == AuditAction.DEVICE_FREE_SEAT.value,
        audit_entries.c.details["license_id"].as_integer() == license_id,
    )
    return _lines(
        conn,
        sa.or_(events.c.license_id == license_id, events.c.device_id.in_(holders)),
        sa.or_(
            sa.and_(
                audit_entries.c.target_type == AuditTarget.LICENSE.value, audit_entries.c.target_id == str(license_id)
            ),
            # Staff actions on the machines holding its seats now (a block, a trial), and seats it lost.
            sa.and_(audit_entries.c.target_type == AuditTarget.MACHINE.value, audit_entries.c.target_id.in_(machines)),
            freed_here,
        ),
    )
