"""Seats: activation with a license key, never beyond the license's device limit.

Runs inside the status check's writer job. Concurrent activations of one
license are serialised by the database: SQLite's write lock (taken at
``BEGIN IMMEDIATE``) or, on PostgreSQL, a row lock on the license.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa

from licentia.core.licensekeys import KeyFormatError, key_hash, key_prefix, normalize_key
from licentia.core.status import LicenseState, trial_status
from licentia.server.errors import ApiError
from licentia.server.events.service import event_row
from licentia.server.ratelimit import hit, peek
from licentia.server.store.models import Device, License, table_of

devices = table_of(Device)
licenses = table_of(License)


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
    product: Any,
    device: Any,
    now: dt.datetime,
    client_facts: dict[str, Any],
    server_facts: dict[str, Any],
    attempts_per_hour: int,
) -> Any:
    """The license whose seat ``device`` may take, or :class:`Refused` with the evidence to keep.

    This is the only way up from a trial: a genuine key, of this product, in
    an active and unexpired license, with a free seat.
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

    bucket = f"invalid_key:{product.id}:{ip}"
    limited = peek(conn, bucket, now, limit=attempts_per_hour)
    if limited is not None:
        raise Refused(
            ApiError(
                "rate_limited",
                "too many activation attempts from this network; try again later",
                429,
                headers={"Retry-After": str(limited)},
            )
        )
    try:
        key = normalize_key(typed)
    except KeyFormatError as exc:
        prefix = "".join(ch for ch in typed.upper() if ch.isalnum())[:5]
        hit(conn, bucket, now)
        raise Refused(
            ApiError("invalid_key", str(exc)), evidence("invalid_key", key_prefix=prefix, reason="format")
        ) from exc
    lic = conn.execute(
        sa.select(licenses).where(licenses.c.key_hash == key_hash(key), licenses.c.product_id == product.id)
    ).first()
    if lic is None:
        # Well-formed but never issued: a key generator's, or another product's.
        hit(conn, bucket, now)
        raise Refused(
            ApiError("invalid_key", "this license key was not issued for this product"),
            evidence("invalid_key", key_prefix=key_prefix(key), reason="not_issued"),
        )
    if lic.state == LicenseState.SUSPENDED.value:
        raise Refused(ApiError("license_suspended", "this license is suspended", 403))
    if lic.state == LicenseState.REVOKED.value:
        raise Refused(ApiError("license_revoked", "this license was revoked", 403))
    if lic.state == LicenseState.EXPIRED.value or (lic.expires_at is not None and lic.expires_at <= now):
        raise Refused(ApiError("license_expired", "this license has expired", 403))
    if device.is_virtual and not product.allow_virtual_machines:
        raise Refused(ApiError("virtual_machine_not_allowed", "this product does not run in virtual machines", 403))
    if device.license_id == lic.id:
        return lic
    # Serialise activations of one license across workers (SQLite already
    # holds the write lock from BEGIN IMMEDIATE).
    if conn.dialect.name == "postgresql":
        conn.execute(sa.select(licenses.c.id).where(licenses.c.id == lic.id).with_for_update())
    release_stale_seats(conn, lic, product, now)
    max_devices = int((lic.policy_overrides or {}).get("max_devices") or product.max_devices)
    used = conn.execute(
        sa.select(sa.func.count()).select_from(devices).where(devices.c.license_id == lic.id, devices.c.id != device.id)
    ).scalar_one()
    if used >= max_devices:
        raise Refused(
            ApiError(
                "too_many_devices",
                f"this license is already in use on {used} of {max_devices} devices",
                403,
            ),
            evidence("register", key_prefix=lic.key_prefix, result="too_many_devices", license_id=lic.id),
        )
    return lic


def release_stale_seats(conn: sa.Connection, lic: Any, product: Any, now: dt.datetime) -> None:
    """A seat unseen for ``seat_release_days`` is freed (the machine is gone)."""
    days = int((lic.policy_overrides or {}).get("seat_release_days") or product.seat_release_days)
    cutoff = now - dt.timedelta(days=days)
    stale = conn.execute(
        sa.select(devices.c.id, devices.c.trial_end).where(devices.c.license_id == lic.id, devices.c.last_seen < cutoff)
    ).all()
    for row in stale:
        conn.execute(
            devices.update()
            .where(devices.c.id == row.id)
            .values(
                license_id=None,
                status=trial_status(row.trial_end, now).value,
                status_reason="seat_released",
            )
        )
