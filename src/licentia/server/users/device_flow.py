"""The OAuth 2.0 device authorization grant (RFC 8628): an application signs its user in through the portal.

1. The installation asks for a grant (``start``): a long secret *device code*
   it keeps, and a short *user code* it shows with the portal's address.
2. The person opens the portal (signed in by emailed link), types or confirms
   the code (``pending_for``), and approves (``approve``: the installation is
   bound to them on a user license they hold, ``users.service.sign_in``) or
   refuses it (``deny``).
3. Meanwhile the application polls (``poll``) every ``interval`` seconds; it
   hears ``authorization_pending`` and ``slow_down`` (too soon: the interval
   grows by 5 seconds, as the RFC says) until the person decided, then
   ``access_denied``, or its signed status naming the user; ``expired_token``
   once the code's lifetime passed. A device code is spent once.

Only the SHA-256 of a device code is kept, and only the installation that asked
may poll with it (its device credential): a leaked code signs in nobody else.
Each step returns its result rather than raising inside the transaction, so
that what must be written (the poll's time, a wrong guess) is kept.
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from licentia.core.usercodes import UserCodeFormatError, generate_user_code, normalize_user_code
from licentia.server.customers.service import MachineView
from licentia.server.errors import ApiError, ErrorCode
from licentia.server.ratelimit import hit, peek
from licentia.server.store.tables import device_authorizations, devices, machines, products
from licentia.server.users.service import email_of, sign_in

SLOW_DOWN_STEP = 5  # seconds added to the interval at each slow_down (RFC 8628, section 3.5)
# Grants one installation may ask for in an hour: each makes a row and a code a person could be shown.
STARTS_PER_DEVICE_PER_HOUR = 20


class GrantState(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    DENIED = "denied"
    USED = "used"  # the application got its status: the device code is spent


@dataclass(frozen=True, slots=True)
class Started:
    device_code: str
    user_code: str
    expires_in: int
    interval: int


def device_code_hash(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def start(
    conn: sa.Connection, *, device_id: str, product_id: int, now: dt.datetime, lifetime: dt.timedelta, interval: int
) -> Started | ApiError:
    """A new grant for the installation ``device_id`` (its credential was checked by the caller)."""
    bucket = f"device_authorize:{device_id}"
    waiting = peek(conn, bucket, now, limit=STARTS_PER_DEVICE_PER_HOUR)
    if waiting is not None:
        return ApiError(
            ErrorCode.RATE_LIMITED,
            "too many sign-ins asked for; try again later",
            headers={"Retry-After": str(waiting)},
        )
    hit(conn, bucket, now)
    for _ in range(8):  # a user code is unique among the live ones: a person types it
        user_code = generate_user_code()
        taken = conn.execute(
            sa.select(device_authorizations.c.id).where(
                device_authorizations.c.user_code == user_code, device_authorizations.c.expires_at > now
            )
        ).first()
        if taken is None:
            break
    else:  # pragma: no cover - 20**7 codes
        raise RuntimeError("no free user code")
    device_code = secrets.token_urlsafe(32)
    conn.execute(
        device_authorizations.insert().values(
            device_code_hash=device_code_hash(device_code),
            user_code=user_code,
            product_id=product_id,
            device_id=device_id,
            state=GrantState.PENDING.value,
            created_at=now,
            expires_at=now + lifetime,
            interval_seconds=interval,
        )
    )
    return Started(device_code, user_code, int(lifetime.total_seconds()), interval)


@dataclass(frozen=True, slots=True)
class Polled:
    """The poll's outcome: ``error`` (an RFC 8628 code) or, approved, the user signed in on ``license_id``."""

    error: ApiError | None = None
    email: str | None = None
    license_id: int | None = None


def poll(conn: sa.Connection, *, device_code: str, device_id: str, now: dt.datetime) -> Polled:
    grant = conn.execute(
        sa.select(device_authorizations).where(
            device_authorizations.c.device_code_hash == device_code_hash(device_code)
        )
    ).first()
    if grant is None or grant.device_id != device_id or grant.state == GrantState.USED:
        return Polled(ApiError(ErrorCode.INVALID_GRANT, "this device code is unknown, spent, or another's"))
    if grant.state == GrantState.DENIED:
        return Polled(ApiError(ErrorCode.ACCESS_DENIED, "the sign-in was refused in the portal"))
    if grant.state == GrantState.APPROVED:
        spent = conn.execute(
            device_authorizations.update()
            .where(device_authorizations.c.id == grant.id, device_authorizations.c.state == GrantState.APPROVED)
            .values(state=GrantState.USED.value, last_polled_at=now)
        )
        if spent.rowcount != 1:  # another poll of the same code spent it a moment ago
            return Polled(ApiError(ErrorCode.INVALID_GRANT, "this device code is spent"))
        return Polled(email=grant.email, license_id=grant.license_id)
    if grant.expires_at <= now:
        return Polled(ApiError(ErrorCode.EXPIRED_TOKEN, "the sign-in code expired: ask for a new one"))
    interval = int(grant.interval_seconds)
    too_soon = grant.last_polled_at is not None and (now - grant.last_polled_at).total_seconds() < interval
    if too_soon:
        interval += SLOW_DOWN_STEP
    conn.execute(
        device_authorizations.update()
        .where(device_authorizations.c.id == grant.id)
        .values(last_polled_at=now, interval_seconds=interval)
    )
    if too_soon:
        return Polled(
            ApiError(
                ErrorCode.SLOW_DOWN,
                f"polled too soon: wait {interval} seconds between polls",
                details={"interval": interval},
            )
        )
    return Polled(ApiError(ErrorCode.AUTHORIZATION_PENDING, "waiting for the person to confirm the code"))


@dataclass(frozen=True, slots=True)
class Pending:
    """A grant waiting for the signed-in person, as the confirmation page names it."""

    user_code: str
    product_name: str
    machine_name: str
    os_name: str | None
    expires_at: dt.datetime


def pending_for(
    conn: sa.Connection, *, typed: str, email: str, network: str, now: dt.datetime, guesses_per_hour: int
) -> Pending | ApiError:
    """The live grant whose user code ``email`` typed; wrong codes are counted per person and per network."""
    try:
        code = normalize_user_code(typed)
    except UserCodeFormatError as exc:  # a typo, caught by the check letter: not a guess
        return ApiError(ErrorCode.INVALID_USER_CODE, str(exc))
    buckets = [(f"user_code:{email}", guesses_per_hour), (f"user_code_net:{network}", guesses_per_hour * 10)]
    for bucket, limit in buckets:
        waiting = peek(conn, bucket, now, limit=limit)
        if waiting is not None:
            return ApiError(
                ErrorCode.RATE_LIMITED,
                "too many wrong sign-in codes; try again later",
                headers={"Retry-After": str(waiting)},
            )
    row = conn.execute(
        sa.select(
            device_authorizations.c.user_code,
            device_authorizations.c.expires_at,
            products.c.name.label("product_name"),
            devices,
            machines.c.label,
        )
        .join(products, products.c.id == device_authorizations.c.product_id)
        .join(devices, devices.c.id == device_authorizations.c.device_id)
        .join(machines, machines.c.id == devices.c.machine_id)
        .where(
            device_authorizations.c.user_code == code,
            device_authorizations.c.state == GrantState.PENDING,
            device_authorizations.c.expires_at > now,
        )
    ).first()
    if row is None:
        for bucket, _limit in buckets:
            hit(conn, bucket, now)
        return ApiError(ErrorCode.INVALID_USER_CODE, "no application is waiting for this code (expired, or used)")
    machine = MachineView(id=row.machine_id, last_seen=row.last_seen, installations=[row], label=row.label)
    return Pending(row.user_code, row.product_name, machine.name, row.os_name, row.expires_at)


def _live(conn: sa.Connection, user_code: str, now: dt.datetime) -> Any:
    row = conn.execute(
        sa.select(device_authorizations).where(
            device_authorizations.c.user_code == user_code,
            device_authorizations.c.state == GrantState.PENDING,
            device_authorizations.c.expires_at > now,
        )
    ).first()
    if row is None:
        raise ApiError(ErrorCode.INVALID_USER_CODE, "no application is waiting for this code (expired, or used)")
    return row


def approve(conn: sa.Connection, *, user_code: str, email: str, now: dt.datetime) -> int:
    """``email`` confirms the code: the installation is theirs on a user license they hold. The license's id.

    Refused (``no_user_seat``, ``no_user_license``...) the grant stays pending:
    the vendor may assign the person a seat and they confirm again.
    """
    email = email_of(email)
    grant = _live(conn, normalize_user_code(user_code), now)
    license_id = sign_in(
        conn, device_id=grant.device_id, product_id=grant.product_id, email=email, actor=f"customer:{email}", now=now
    )
    conn.execute(
        device_authorizations.update()
        .where(device_authorizations.c.id == grant.id)
        .values(state=GrantState.APPROVED.value, email=email, license_id=license_id, decided_at=now)
    )
    return license_id


def deny(conn: sa.Connection, *, user_code: str, email: str, now: dt.datetime) -> None:
    """``email`` refuses the code: the application hears ``access_denied``."""
    grant = _live(conn, normalize_user_code(user_code), now)
    conn.execute(
        device_authorizations.update()
        .where(device_authorizations.c.id == grant.id)
        .values(state=GrantState.DENIED.value, email=email_of(email), decided_at=now)
    )
