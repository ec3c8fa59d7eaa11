"""Seats: activation with a license key, never beyond the license's device limit, nor its transfer limit.

Runs inside the status check's writer job. Concurrent activations of one
license are serialised by the database: SQLite's write lock (taken at
``BEGIN IMMEDIATE``) or, on PostgreSQL, a row lock on the license.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from licentia.core.licensekeys import KeyFormatError, key_hash, key_prefix, normalize_key
from licentia.core.status import LicenseState
from licentia.core.vocabulary import EventKind
from licentia.server.devices.transfers import TransferLimit, take_seat
from licentia.server.errors import ApiError, ErrorCode
from licentia.server.events.service import event_row
from licentia.server.policies.choices import SeatKind, SeatUnit
from licentia.server.policies.terms import activation_expiry
from licentia.server.ratelimit import hit, peek
from licentia.server.store.raw import Record
from licentia.server.store.tables import customers, devices, licenses

if TYPE_CHECKING:  # the rows' types: for mypy only, never imported at run time
    from licentia.server.devices.row_types import CustomerLicenseRow, DeviceRow, PolicyRow, ProductRow

# A network may send this many times the per-machine limit of wrong keys.
NETWORK_LIMIT_FACTOR = 10


class Refused(Exception):
    """Abort the job's changes but keep the evidence rows listed in ``evidence``."""

    def __init__(self, error: ApiError, evidence: list[dict[str, Any]] | None = None) -> None:
        super().__init__(error.message)
        self.error = error
        self.evidence = evidence or []


def claim_seat(
    conn: sa.Connection,
    *,
    typed_key: str,
    product: ProductRow,
    device: DeviceRow,
    now: dt.datetime,
    client_facts: dict[str, Any],
    server_facts: dict[str, Any],
    attempts_per_hour: int,
    terms_of: Callable[[CustomerLicenseRow], PolicyRow],
) -> CustomerLicenseRow:
    """The license whose seat ``device`` may take, or :class:`Refused` with the evidence to keep.

    This is the only way up from a trial: a genuine key, of this product, in
    an active and unexpired license, with a free seat. ``terms_of(license)``
    is the policy the license follows (its type, with its overrides).
    """
    ip = str(server_facts.get("external_ip") or "unknown")
    typed = typed_key

    def evidence(kind: str, license_id: int | None = None, **data: Any) -> list[dict[str, Any]]:
        return [
            event_row(
                product_id=product.id,
                device_id=device.id,
                # On the row, not only in ``data``: a license's evidence report finds it by index.
                license_id=license_id,
                kind=kind,
                received_at=now,
                data=data,
                client_facts=client_facts,
                server_facts=server_facts,
            )
        ]

    # Guessing is stopped per machine: past the limit a machine gets 429 for any key.
    # Per network the limit is wider and refuses only wrong keys, so a customer
    # behind the same address as a guesser still activates a genuine key.
    machine_bucket = f"invalid_key:{product.id}:machine:{device.machine_id}"
    network_bucket = f"invalid_key:{product.id}:net:{ip}"
    limited = peek(conn, machine_bucket, now, limit=attempts_per_hour)
    if limited is not None:
        raise Refused(_rate_limited(limited))

    def wrong_key(error: ApiError, rows: list[dict[str, Any]]) -> Refused:
        hit(conn, machine_bucket, now)
        hit(conn, network_bucket, now)
        waiting = peek(conn, network_bucket, now, limit=attempts_per_hour * NETWORK_LIMIT_FACTOR)
        return Refused(_rate_limited(waiting) if waiting is not None else error, rows)

    try:
        key = normalize_key(typed)
    except KeyFormatError as exc:
        prefix = "".join(ch for ch in typed.upper() if ch.isalnum())[:5]
        raise wrong_key(
            ApiError(ErrorCode.INVALID_KEY, str(exc)),
            evidence(EventKind.INVALID_KEY, key_prefix=prefix, reason="format"),
        ) from exc
    row = conn.execute(
        sa.select(licenses, customers.c.name.label("customer_name"))
        .outerjoin(customers, customers.c.id == licenses.c.customer_id)
        .where(licenses.c.key_hash == key_hash(key), licenses.c.product_id == product.id)
    ).first()
    if row is None:
        # Well-formed but never issued: a key generator's, or another product's.
        raise wrong_key(
            ApiError(ErrorCode.INVALID_KEY, "this license key was not issued for this product"),
            evidence(EventKind.INVALID_KEY, key_prefix=key_prefix(key), reason="not_issued"),
        )
    lic: CustomerLicenseRow = row
    if lic.state == LicenseState.SUSPENDED.value:
        raise Refused(ApiError(ErrorCode.LICENSE_SUSPENDED, "this license is suspended"))
    if lic.state == LicenseState.REVOKED.value:
        raise Refused(ApiError(ErrorCode.LICENSE_REVOKED, "this license was revoked"))
    if lic.state == LicenseState.EXPIRED.value or (lic.expires_at is not None and lic.expires_at <= now):
        raise Refused(ApiError(ErrorCode.LICENSE_EXPIRED, "this license has expired"))
    terms = terms_of(lic)
    if terms.kind == SeatKind.FLOATING:  # its seats are leases (server/leases/): an activation would hold one for ever
        raise Refused(ApiError(ErrorCode.FLOATING_LICENSE, "this license is floating: check out a lease instead"))
    if terms.seat_unit == SeatUnit.USER:  # its seats are people: they sign in (server/users/), a key binds no one
        raise Refused(ApiError(ErrorCode.USER_LICENSE, "this license's seats are named users: sign in instead"))
    if device.is_virtual and not terms.allow_virtual_machines:
        raise Refused(ApiError(ErrorCode.VIRTUAL_MACHINE_NOT_ALLOWED, "this product does not run in virtual machines"))
    if device.m_restriction:
        raise Refused(ApiError(ErrorCode.MACHINE_RESTRICTED, f"this machine is {device.m_restriction} by the vendor"))
    if device.license_id == lic.id:
        return lic
    # Serialise activations of one license across workers (SQLite already
    # holds the write lock from BEGIN IMMEDIATE).
    if conn.dialect.name == "postgresql":
        conn.execute(sa.select(licenses.c.id).where(licenses.c.id == lic.id).with_for_update())
    release_stale_seats(conn, lic.id, terms.seat_release_days, now)
    # Seats count machines: another installation on a machine that holds a seat takes none.
    holds_seat = conn.execute(
        sa.select(devices.c.id)
        .where(devices.c.license_id == lic.id, devices.c.machine_id == device.machine_id)
        .limit(1)
    ).first()
    if holds_seat is not None:
        return lic
    max_devices = int(terms.max_devices)
    used = conn.execute(
        sa.select(sa.func.count(sa.distinct(devices.c.machine_id))).where(devices.c.license_id == lic.id)
    ).scalar_one()
    if used >= max_devices:
        raise Refused(
            ApiError(
                ErrorCode.TOO_MANY_DEVICES,
                f"this license is already in use on {used} of {max_devices} machines",
            ),
            evidence(EventKind.REGISTER, key_prefix=lic.key_prefix, result="too_many_devices", license_id=lic.id),
        )
    try:  # a seat the customer freed, taken on another machine, is a transfer (transfers.py)
        take_seat(
            conn,
            license_id=lic.id,
            machine_id=device.machine_id,
            seats_used=int(used),
            max_devices=max_devices,
            limit=terms.transfer_limit,
            period_days=int(terms.transfer_period_days or 365),
            now=now,
        )
    except TransferLimit as exc:
        raise Refused(
            exc, evidence(EventKind.REGISTER, key_prefix=lic.key_prefix, result="transfer_limit", license_id=lic.id)
        ) from exc
    if lic.first_activated_at is None:
        return _first_activation(conn, row, terms, now)
    return lic


def _first_activation(
    conn: sa.Connection, lic: sa.Row[*tuple[Any, ...]], terms: PolicyRow, now: dt.datetime
) -> CustomerLicenseRow:
    """Note the license's first activation; a policy counting its expiry from it fixes the date now."""
    values: dict[str, Any] = {"first_activated_at": now}
    expires_at = activation_expiry(terms, lic.expires_at, now)
    if expires_at is not None:
        values["expires_at"] = expires_at
    conn.execute(licenses.update().where(licenses.c.id == lic.id).values(**values))
    return Record({**lic._mapping, **values})


def _rate_limited(retry_after: int) -> ApiError:
    return ApiError(
        ErrorCode.RATE_LIMITED,
        "too many wrong license keys from here; try again later",
        headers={"Retry-After": str(retry_after)},
    )


def release_stale_seats(conn: sa.Connection, license_id: int, seat_release_days: int, now: dt.datetime) -> int:
    """Free the seat of every machine of the license unseen for ``seat_release_days`` (0: never).

    A seat is a machine's: it frees when none of the machine's installations
    on the license was seen within the period. Returns the machines freed.
    """
    from licentia.server.devices.changes import installations_of, unbind

    if not seat_release_days:
        return 0
    cutoff = now - dt.timedelta(days=int(seat_release_days))
    bound = installations_of(conn, devices.c.license_id == license_id)
    newest: dict[str, dt.datetime] = {}
    for row in bound:
        newest[row.machine_id] = max(newest.get(row.machine_id, row.last_seen), row.last_seen)
    stale = {machine for machine, seen in newest.items() if seen < cutoff}
    if stale:  # a computer on an offline lease is unseen by design: its proof frees its seat
        from licentia.server.devices.offline_seats import leased_machines

        stale -= leased_machines(conn, license_id, now)
    for row in bound:
        if row.machine_id in stale:
            unbind(conn, row=row, now=now, reason="seat_released")
    return len(stale)
