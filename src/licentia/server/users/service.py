"""User seats of a license: sign a person in on an installation; assign, free and reassign seats.

Shared by every surface (the portal's device sign-in page, the developer API,
the admin UI, the CLI and, once organisations land, their admins in the
portal): each function takes a sync ``Connection`` and the acting person as
``actor``, and raises :class:`~licentia.server.errors.ApiError`.

Seats are counted from ``license_users`` under the same lock as machine seats
(``devices/seats.py``): SQLite's write lock, or a row lock on the license on
PostgreSQL, so that concurrent sign-ins on several workers never hold more
than ``max_devices`` people.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa

from licentia.core.status import LicenseState
from licentia.core.vocabulary import EventKind
from licentia.server.audit import AuditAction, record
from licentia.server.customers.accounts import normalize_email
from licentia.server.devices.changes import installations_of, unbind
from licentia.server.devices.decide import Situation, decide
from licentia.server.errors import ApiError, ErrorCode
from licentia.server.events.service import record_event
from licentia.server.notify.catalog import WebhookEvent, license_event
from licentia.server.policies.choices import SeatUnit
from licentia.server.policies.terms import activation_expiry, effective
from licentia.server.store.tables import customers, devices, license_users, licenses, machines, policies
from licentia.server.users.decide import decide_user_seat

NAMED = license_users.c.freed_at.is_(None)
HELD = sa.and_(NAMED, license_users.c.seated_at.is_not(None))


def email_of(text: str) -> str:
    email = normalize_email(text or "")
    if email is None:
        raise ApiError(ErrorCode.INVALID_EMAIL, f"{text!r} is not an email address")
    return email


def terms_of(conn: sa.Connection, license_id: int) -> tuple[Any, dict[str, Any]]:
    """The license row (with its customer's email) and the terms it follows (its type with its overrides)."""
    lic = conn.execute(
        sa.select(licenses, customers.c.email.label("customer_email"))
        .outerjoin(customers, customers.c.id == licenses.c.customer_id)
        .where(licenses.c.id == license_id)
    ).first()
    if lic is None:
        raise ApiError(ErrorCode.UNKNOWN_LICENSE, f"no license {license_id}")
    policy = conn.execute(sa.select(policies).where(policies.c.id == lic.policy_id)).first()
    if policy is None:  # a license issued before license types: its product's default
        policy = conn.execute(
            sa.select(policies).where(policies.c.product_id == lic.product_id, policies.c.is_default)
        ).one()
    return lic, dict(effective(dict(policy._mapping), lic.policy_overrides))


def user_license(conn: sa.Connection, license_id: int) -> tuple[Any, dict[str, Any]]:
    """``terms_of`` a license whose seats are users, else ``not_user_license``."""
    lic, terms = terms_of(conn, license_id)
    if terms.get("seat_unit") != SeatUnit.USER:
        raise ApiError(ErrorCode.NOT_USER_LICENSE, "this license's seats are machines, not named users")
    return lic, terms


def lock(conn: sa.Connection, license_id: int) -> None:
    """Serialise seat changes of one license across workers (SQLite holds its write lock already)."""
    if conn.dialect.name == "postgresql":
        conn.execute(sa.select(licenses.c.id).where(licenses.c.id == license_id).with_for_update())


def held_seats(conn: sa.Connection, license_id: int) -> list[sa.Row[Any]]:
    """The people holding a seat of the license now, earliest first."""
    return list(
        conn.execute(
            sa.select(license_users)
            .where(license_users.c.license_id == license_id, HELD)
            .order_by(license_users.c.assigned_at, license_users.c.id)
        ).all()
    )


def named_users(conn: sa.Connection, license_id: int) -> list[sa.Row[Any]]:
    """The people named on the license (holding a seat or not yet), earliest first."""
    return list(
        conn.execute(
            sa.select(license_users)
            .where(license_users.c.license_id == license_id, NAMED)
            .order_by(license_users.c.assigned_at, license_users.c.id)
        ).all()
    )


def list_users(conn: sa.Connection, *, license_id: int) -> list[dict[str, Any]]:
    """Every person named on a user license (``seated_at`` None: no seat taken yet), with their machines."""
    user_license(conn, license_id)
    bound = conn.execute(
        sa.select(devices.c.user_email, devices.c.machine_id, machines.c.label, devices.c.id)
        .join(machines, machines.c.id == devices.c.machine_id)
        .where(devices.c.license_id == license_id, devices.c.user_email.is_not(None))
    ).all()
    found = []
    for row in named_users(conn, license_id):
        mine = sorted({b.machine_id for b in bound if b.user_email == row.email})
        found.append({**row._mapping, "machines": mine})
    return found


def _name(conn: sa.Connection, *, lic: Any, email: str, actor: str, now: dt.datetime, seat: bool) -> None:
    """Name ``email`` on the license (a freed row is named again), with a seat when ``seat``."""
    existing = conn.execute(
        sa.select(license_users.c.id).where(license_users.c.license_id == lic.id, license_users.c.email == email)
    ).first()
    values = {"assigned_at": now, "assigned_by": actor, "freed_at": None, "freed_by": None, "last_active_at": None}
    values["seated_at"] = now if seat else None
    if existing is None:
        conn.execute(license_users.insert().values(license_id=lic.id, email=email, **values))
    else:
        conn.execute(license_users.update().where(license_users.c.id == existing.id).values(**values))
    if seat:
        _seated_event(conn, lic=lic, email=email, actor=actor, now=now)


def _take(conn: sa.Connection, *, lic: Any, email: str, actor: str, now: dt.datetime) -> None:
    """``email`` takes a seat (named now if they were not); the caller decided there is one."""
    seated = conn.execute(
        license_users.update()
        .where(license_users.c.license_id == lic.id, license_users.c.email == email, NAMED)
        .values(seated_at=now)
    )
    if seated.rowcount == 1:
        _seated_event(conn, lic=lic, email=email, actor=actor, now=now)
    else:
        _name(conn, lic=lic, email=email, actor=actor, now=now, seat=True)


def _seated_event(conn: sa.Connection, *, lic: Any, email: str, actor: str, now: dt.datetime) -> None:
    license_event(
        conn,
        WebhookEvent.LICENSE_USER_ASSIGNED,
        license_id=lic.id,
        now=now,
        cause=f"{email}:{now.isoformat()}",
        user={"email": email, "assigned_by": actor},
    )


def _check_usable(lic: Any, now: dt.datetime) -> None:
    if lic.state == LicenseState.SUSPENDED.value:
        raise ApiError(ErrorCode.LICENSE_SUSPENDED, "this license is suspended")
    if lic.state == LicenseState.REVOKED.value:
        raise ApiError(ErrorCode.LICENSE_REVOKED, "this license was revoked")
    if lic.state == LicenseState.EXPIRED.value or (lic.expires_at is not None and lic.expires_at <= now):
        raise ApiError(ErrorCode.LICENSE_EXPIRED, "this license has expired")


def assign_user(
    conn: sa.Connection, *, license_id: int, email: str, actor: str, now: dt.datetime, seat: bool = True
) -> bool:
    """Name ``email`` on the license and give them a seat now (``seat``), or at their first sign-in while one is free.

    False when nothing changes (already seated; or already named, without ``seat``).
    """
    email = email_of(email)
    lic, terms = user_license(conn, license_id)
    lock(conn, license_id)
    held = held_seats(conn, license_id)
    if any(row.email == email for row in held):
        return False
    named = any(row.email == email for row in named_users(conn, license_id))
    if not seat:
        if named:
            return False
        _name(conn, lic=lic, email=email, actor=actor, now=now, seat=False)
    else:
        if len(held) >= int(terms["max_devices"]):
            raise ApiError(
                ErrorCode.NO_USER_SEAT,
                f"every user seat of this license is taken ({len(held)} of {terms['max_devices']})",
            )
        _take(conn, lic=lic, email=email, actor=actor, now=now)
    record(conn, AuditAction.LICENSE_USER_ASSIGN, license_id, actor=actor, now=now, email=email, seat=seat)
    return True


def _release(conn: sa.Connection, *, license_id: int, email: str, actor: str, now: dt.datetime, why: str) -> int:
    """Free ``email``'s seat: the row is kept (freed), their installations leave the license. Returns them."""
    done = conn.execute(
        license_users.update()
        .where(license_users.c.license_id == license_id, license_users.c.email == email, NAMED)
        .values(freed_at=now, freed_by=actor)
    )
    if done.rowcount != 1:
        raise ApiError(ErrorCode.UNKNOWN_USER, f"{email} is not named on this license")
    mine = installations_of(conn, devices.c.license_id == license_id, devices.c.user_email == email)
    for row in mine:
        unbind(conn, row=row, now=now, reason=why)
    if mine:
        conn.execute(devices.update().where(devices.c.id.in_([r.id for r in mine])).values(user_email=None))
    license_event(
        conn,
        WebhookEvent.LICENSE_USER_FREED,
        license_id=license_id,
        now=now,
        cause=f"{email}:freed:{now.isoformat()}",
        user={"email": email, "freed_by": actor, "installations": len(mine)},
    )
    return len(mine)


def free_user(
    conn: sa.Connection, *, license_id: int, email: str, actor: str, now: dt.datetime, reason: str | None = None
) -> int:
    """Free the seat ``email`` holds; every installation they signed in on leaves the license. Returns those."""
    email = email_of(email)
    user_license(conn, license_id)
    lock(conn, license_id)
    freed = _release(conn, license_id=license_id, email=email, actor=actor, now=now, why="user seat freed")
    record(
        conn, AuditAction.LICENSE_USER_FREE, license_id, actor=actor, now=now, email=email, reason=reason,
        installations=freed,
    )  # fmt: skip
    return freed


def shrink(conn: sa.Connection, *, license_id: int, seats: int, actor: str, now: dt.datetime) -> list[str]:
    """Keep the seats of the ``seats`` most recently active people and free the others' (a downgrade).

    Active is the last check of any of their installations (``last_active_at``), or when they took the seat
    if they never checked since; ties go to the earlier seat. Returns the people freed, most recent first.
    """
    user_license(conn, license_id)
    lock(conn, license_id)
    held = held_seats(conn, license_id)
    if len(held) <= seats:
        return []
    ranked = sorted(held, key=lambda row: (row.last_active_at or row.seated_at, -row.id), reverse=True)
    freed = [row.email for row in ranked[seats:]]
    for email in freed:
        left = _release(conn, license_id=license_id, email=email, actor=actor, now=now, why="user seat freed")
        record(
            conn, AuditAction.LICENSE_USER_FREE, license_id, actor=actor, now=now, email=email,
            reason=f"seats reduced to {seats}", installations=left,
        )  # fmt: skip
    return freed


def reassign_user(conn: sa.Connection, *, license_id: int, email: str, to: str, actor: str, now: dt.datetime) -> None:
    """Move ``email``'s seat to ``to`` in one change: the seat is never free for a third person meanwhile."""
    email, to = email_of(email), email_of(to)
    lic, _terms = user_license(conn, license_id)
    lock(conn, license_id)
    if any(row.email == to for row in held_seats(conn, license_id)):
        raise ApiError(ErrorCode.NO_USER_SEAT, f"{to} already holds a seat of this license")
    if not any(row.email == email for row in held_seats(conn, license_id)):
        raise ApiError(ErrorCode.UNKNOWN_USER, f"{email} holds no seat of this license")
    _release(conn, license_id=license_id, email=email, actor=actor, now=now, why="user seat reassigned")
    _take(conn, lic=lic, email=to, actor=actor, now=now)
    record(conn, AuditAction.LICENSE_USER_REASSIGN, license_id, actor=actor, now=now, email=email, to=to)


def candidate_licenses(conn: sa.Connection, *, email: str, product_id: int) -> list[int]:
    """The licenses of the product a person may sign in with: theirs as the customer, or naming them.

    The ones naming them come first; then by age. Only those whose
    type counts users are kept (the caller reads the terms).
    """
    own = (
        sa.select(licenses.c.id)
        .join(customers, customers.c.id == licenses.c.customer_id)
        .where(licenses.c.product_id == product_id, sa.func.lower(customers.c.email) == email)
    )
    assigned = sa.select(license_users.c.license_id).join(licenses, licenses.c.id == license_users.c.license_id)
    assigned = assigned.where(licenses.c.product_id == product_id, license_users.c.email == email, NAMED)
    named = {int(r[0]) for r in conn.execute(assigned)}
    ids = named | {int(r[0]) for r in conn.execute(own)}
    return sorted(ids, key=lambda i: (i not in named, i))


def sign_in(conn: sa.Connection, *, device_id: str, product_id: int, email: str, actor: str, now: dt.datetime) -> int:
    """Bind the installation ``device_id`` to ``email`` on a user license they hold; the license's id.

    A person with a seat keeps it (a second machine takes none, up to
    ``machines_per_user``); a person without one takes a free seat of a license
    they own. Refused with the first license's reason when none will do.
    """
    email = email_of(email)
    device = installations_of(conn, devices.c.id == device_id, devices.c.product_id == product_id)
    if not device:
        raise ApiError(ErrorCode.UNKNOWN_DEVICE, "the installation that asked to sign in is gone")
    row = device[0]
    if row.restriction:
        raise ApiError(ErrorCode.MACHINE_RESTRICTED, f"this machine is {row.restriction} by the vendor")
    refusal: ApiError | None = None
    for license_id in candidate_licenses(conn, email=email, product_id=product_id):
        lic, terms = terms_of(conn, license_id)
        if terms.get("seat_unit") != SeatUnit.USER:
            continue
        try:
            _check_usable(lic, now)
            if row.is_virtual and not terms.get("allow_virtual_machines", True):
                raise ApiError(ErrorCode.VIRTUAL_MACHINE_NOT_ALLOWED, "this product does not run in virtual machines")
            _bind(conn, row=row, lic=lic, terms=terms, email=email, actor=actor, now=now)
        except ApiError as exc:
            refusal = refusal or exc
            continue
        return int(lic.id)
    raise refusal or ApiError(
        ErrorCode.NO_USER_LICENSE, f"{email} holds no license of this product whose seats are named users"
    )


def _bind(conn: sa.Connection, *, row: Any, lic: Any, terms: dict[str, Any], email: str, actor: str, now: Any) -> None:
    lock(conn, lic.id)
    held = held_seats(conn, lic.id)
    mine = conn.execute(
        sa.select(devices.c.machine_id).where(devices.c.license_id == lic.id, devices.c.user_email == email)
    )
    verdict = decide_user_seat(
        holds_seat=any(h.email == email for h in held),
        seats_held=len(held),
        seats=int(terms["max_devices"]),
        users_machines={m[0] for m in mine},
        machine_id=row.machine_id,
        machines_per_user=int(terms.get("machines_per_user") or 1),
    )
    if verdict.error is not None:
        raise verdict.error
    if verdict.take_seat:
        _take(conn, lic=lic, email=email, actor=actor, now=now)
    conn.execute(
        license_users.update()
        .where(license_users.c.license_id == lic.id, license_users.c.email == email)
        .values(last_active_at=now)
    )
    decision = decide(
        Situation(
            now=now,
            stored_status=row.status,
            stored_reason=row.status_reason,
            trial_end=row.trial_end,
            restriction=row.restriction,
            restriction_reason=row.restriction_reason,
            license_state=lic.state,
            license_expires_at=lic.expires_at,
        )
    )
    # The status and license columns change: a check deciding on the old row finds its guard broken (rows.GUARDS).
    conn.execute(
        devices.update()
        .where(devices.c.id == row.id)
        .values(
            license_id=lic.id,
            user_email=email,
            activated_at=now if row.license_id != lic.id else row.activated_at,
            status=decision.status,
            status_reason="signed in",
        )
    )
    if lic.first_activated_at is None:  # as a first activation does: a policy counting from it fixes the expiry
        first: dict[str, Any] = {"first_activated_at": now}
        expires_at = activation_expiry(terms, lic.expires_at, now)
        if expires_at is not None:
            first["expires_at"] = expires_at
        conn.execute(licenses.update().where(licenses.c.id == lic.id).values(**first))
    record_event(
        conn,
        product_id=row.product_id,
        device_id=row.id,
        kind=EventKind.REGISTER,
        received_at=now,
        license_id=lic.id,
        data={"key_prefix": lic.key_prefix, "result": "signed_in", "user": email},
    )
    record(conn, AuditAction.PORTAL_USER_SIGN_IN, lic.id, actor=actor, now=now, email=email, device=row.id)
