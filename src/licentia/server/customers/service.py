"""What a signed-in customer may see and do: their licenses, machines, releases; freeing a seat.

Every query here is scoped by the customer's email address (the session's
only identity). A license id or machine id in a URL is never enough: a
license of another address answers "not found", the same as one that does
not exist (threat: a customer walking ids to read others' machines).

A license of an organisation is reached through a joined membership of that
address (``organisation_members``): its owners and admins manage it as their
own (free and name machines); its members read it (``LicenseView.manage``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from licentia.core.status import LicenseState
from licentia.server.audit import AuditAction, record
from licentia.server.customers.terms import LicenseTerms, assigned_to, license_terms
from licentia.server.devices.changes import installations_of, unbind
from licentia.server.devices.offline_seats import refuse_while_leased
from licentia.server.devices.transfers import FreedBy, Standing, license_transfers, seat_freed
from licentia.server.errors import ApiError, ErrorCode
from licentia.server.fields import MachineLabel, Reason, checked
from licentia.server.releases.versions import version_or_none
from licentia.server.store.tables import (
    customers,
    devices,
    licenses,
    machines,
    organisation_members,
    organisations,
    products,
    releases,
)

MANAGING_ROLES = ("owner", "admin")


@dataclass(frozen=True)
class MachineView:
    """A machine holding a seat, as its customer tells it apart: their own label, else the computer's name (when
    the vendor collects it), else its system and model, with when it was first and last seen."""

    id: str
    last_seen: dt.datetime
    installations: list[Any]
    label: str | None = None

    @property
    def first_seen(self) -> dt.datetime:
        return min(i.first_seen for i in self.installations)

    @property
    def computer_name(self) -> str | None:
        names = ((i.facts or {}).get("computer_name") for i in self.installations)
        return next((str(name) for name in names if name), None)

    @property
    def described(self) -> str:
        """The system and model, for a machine with neither label nor name ("Windows 11 · ThinkPad X1")."""
        latest = self.installations[0]
        parts = [latest.os_name, (latest.facts or {}).get("model")]
        return " · ".join(str(p) for p in parts if p) or "a computer"

    @property
    def name(self) -> str:
        return self.label or self.computer_name or self.described


@dataclass(frozen=True)
class LicenseView:
    id: int
    key_prefix: str
    product_name: str
    product_id: int
    state: str
    expires_at: dt.datetime | None
    terms: LicenseTerms
    seats_allowed: int
    transfers: Standing
    machines: list[MachineView] = field(default_factory=list)
    manage: bool = True  # False: a member of the organisation holding it reads it, and changes nothing
    organisation: str | None = None

    @property
    def seats_used(self) -> int:
        return len(self.machines)


def owned_license(conn: sa.Connection, *, email: str, license_id: int, manage: bool = False) -> Any:
    """The license if ``email`` owns it or reaches it through an organisation, else ``not_found`` (the same for
    another's and for none); ``manage``: a change is asked, which an organisation's plain member may not make."""
    mine = (
        sa.select(sa.literal("owner"))
        .select_from(customers)
        .where(customers.c.id == licenses.c.customer_id, sa.func.lower(customers.c.email) == email)
        .correlate(licenses)
    )
    through_org = (
        sa.select(organisation_members.c.role)
        .where(
            organisation_members.c.organisation_id == licenses.c.organisation_id,
            organisation_members.c.email == email,
            organisation_members.c.joined_at.is_not(None),
        )
        .correlate(licenses)
    )
    query = (
        sa.select(
            licenses,
            products.c.name.label("product_name"),
            organisations.c.name.label("organisation_name"),
            sa.func.coalesce(mine.scalar_subquery(), through_org.scalar_subquery()).label("reach"),
        )
        .join(products, products.c.id == licenses.c.product_id)
        .outerjoin(organisations, organisations.c.id == licenses.c.organisation_id)
        .where(licenses.c.id == license_id)
    )
    row = conn.execute(query).first()
    if row is None or row.reach is None or (row.reach == "member" and not assigned_to(conn, row, email)):
        raise ApiError(ErrorCode.UNKNOWN_LICENSE, "no such license in your account")
    if manage and row.reach not in MANAGING_ROLES:
        raise ApiError(
            ErrorCode.ORGANISATION_ROLE_FORBIDDEN, "only the organisation's owners and admins change its licenses"
        )
    return row


def _view(conn: sa.Connection, row: Any, now: dt.datetime) -> LicenseView:
    terms = license_terms(conn, row)
    by_machine: dict[str, list[Any]] = {}
    for inst in installations_of(conn, devices.c.license_id == row.id):
        by_machine.setdefault(inst.machine_id, []).append(inst)
    labels = dict(conn.execute(sa.select(machines.c.id, machines.c.label).where(machines.c.id.in_(by_machine))).all())
    seen = [
        MachineView(
            mid,
            max(i.last_seen for i in insts),
            sorted(insts, key=lambda i: i.last_seen, reverse=True),
            label=labels.get(mid),
        )
        for mid, insts in by_machine.items()
    ]
    return LicenseView(
        id=row.id,
        key_prefix=row.key_prefix,
        product_name=row.product_name,
        product_id=row.product_id,
        state=row.state,
        expires_at=row.expires_at,
        terms=terms,
        seats_allowed=terms.seats_allowed,
        machines=sorted(seen, key=lambda m: m.last_seen, reverse=True),
        transfers=license_transfers(conn, row.id, now),
        manage=getattr(row, "reach", "owner") in MANAGING_ROLES,
        organisation=getattr(row, "organisation_name", None),
    )


def customer_licenses(conn: sa.Connection, *, email: str, now: dt.datetime) -> list[LicenseView]:
    rows = conn.execute(
        sa.select(licenses, products.c.name.label("product_name"))
        .join(customers, customers.c.id == licenses.c.customer_id)
        .join(products, products.c.id == licenses.c.product_id)
        .where(sa.func.lower(customers.c.email) == email)
        .order_by(licenses.c.created_at.desc())
    ).all()
    return [_view(conn, row, now) for row in rows]


def customer_license(conn: sa.Connection, *, email: str, license_id: int, now: dt.datetime) -> LicenseView:
    return _view(conn, owned_license(conn, email=email, license_id=license_id), now)


def free_machine(
    conn: sa.Connection, *, email: str, license_id: int, machine_id: str, reason: str, now: dt.datetime
) -> None:
    """Take the machine off the license: its seat is freed by the customer.

    Freeing is always allowed (it grants nothing); the seat taken on another
    machine afterwards is the transfer the license type limits, whichever way
    it is taken (devices/transfers.py). The installations there learn it at
    their next status check (they are no longer bound, so the signed document
    says so); the audit log keeps who, which machine and the customer's reason.
    """
    row = owned_license(conn, email=email, license_id=license_id, manage=True)
    reason = checked(Reason, " ".join(reason.split()), field="reason")  # refused when too long, never cut
    if not reason:
        raise ApiError(
            ErrorCode.REASON_REQUIRED, "say in a few words why the machine is freed (for example: new computer)"
        )
    bound = installations_of(conn, devices.c.machine_id == machine_id, devices.c.license_id == row.id)
    if not bound:
        raise ApiError(ErrorCode.UNKNOWN_MACHINE, "this machine holds no seat of this license")
    refuse_while_leased(conn, license_id=row.id, machine_id=machine_id, now=now)  # it frees with its proof
    for inst in bound:
        unbind(conn, row=inst, now=now, reason="seat freed by customer")
    seat_freed(conn, license_id=row.id, machine_id=machine_id, now=now, by=FreedBy.PORTAL)
    record(
        conn,
        AuditAction.PORTAL_FREE_MACHINE,
        row.id,
        actor=f"customer:{email}",
        now=now,
        machine=machine_id,
        installations=[inst.id for inst in bound],
        reason=reason,
    )


def entitled(release_row: Any, license_row: Any, terms: LicenseTerms) -> bool:
    """A license entitles to the releases published while it was valid and under maintenance."""
    if license_row.state in (LicenseState.SUSPENDED.value, LicenseState.REVOKED.value):
        return False
    if license_row.expires_at is not None and release_row.released_at > license_row.expires_at:
        return False
    return terms.maintenance_end is None or release_row.released_at <= terms.maintenance_end


def _version_key(row: Any) -> tuple[int, Any]:
    version = version_or_none(row.version)
    return (0, row.released_at) if version is None else (1, version)


def entitled_releases(conn: sa.Connection, *, license_row: Any) -> list[Any]:
    """The releases of the license's product it entitles to, newest first, only those with a download."""
    terms = license_terms(conn, license_row)
    rows = conn.execute(
        sa.select(releases).where(releases.c.product_id == license_row.product_id, releases.c.download_url.is_not(None))
    ).all()
    return sorted((r for r in rows if entitled(r, license_row, terms)), key=_version_key, reverse=True)


def entitled_release(conn: sa.Connection, *, email: str, license_id: int, release_id: int) -> Any:
    row = owned_license(conn, email=email, license_id=license_id)
    for release in entitled_releases(conn, license_row=row):
        if release.id == release_id:
            return release
    raise ApiError(ErrorCode.NOT_ENTITLED, "this license does not entitle you to that release")


def label_machine(
    conn: sa.Connection, *, email: str, license_id: int, machine_id: str, label: str, now: dt.datetime
) -> str | None:
    """The customer's own name for a machine of their license (empty clears it), held to ``MachineLabel``."""
    row = owned_license(conn, email=email, license_id=license_id, manage=True)
    label = checked(MachineLabel, " ".join(label.split()), field="label")  # refused when too long, never cut
    if not installations_of(conn, devices.c.machine_id == machine_id, devices.c.license_id == row.id):
        raise ApiError(ErrorCode.UNKNOWN_MACHINE, "this machine holds no seat of this license")
    conn.execute(machines.update().where(machines.c.id == machine_id).values(label=label or None))
    record(
        conn,
        AuditAction.PORTAL_LABEL_MACHINE,
        row.id,
        actor=f"customer:{email}",
        now=now,
        machine=machine_id,
        label=label or None,
    )
    return label or None
