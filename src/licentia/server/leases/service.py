"""Floating seats: check out, heartbeat, release, borrow (docs/licensing-models.md, "Floating licenses").

Every function runs as one writer job on a sync connection, in one
transaction. Seat counting is the database's: a checkout takes the license's
row lock on PostgreSQL (``SELECT ... FOR UPDATE``; SQLite's writer already
holds the database's write lock from ``BEGIN IMMEDIATE``), reclaims the
license's expired leases, counts the machines still holding one, and inserts
under that lock, so never more than ``max_devices`` machines hold a live lease,
whatever the number of workers. A heartbeat is a compare-and-set that only
extends a lease still live: it can never bring an expired one back.

Checkout authenticates like activation: the installation's credential (a
fingerprint alone never) and the license key. Wrong keys count against the
same rate limits as activation's.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from licentia.core.licensekeys import KeyFormatError, key_hash, key_prefix, normalize_key
from licentia.core.signing import SigningKey
from licentia.core.status import LicenseState
from licentia.core.vocabulary import EventKind
from licentia.server.devices.rows import machine_components
from licentia.server.devices.seats import NETWORK_LIMIT_FACTOR
from licentia.server.devices.service import Checker
from licentia.server.errors import ApiError, ErrorCode
from licentia.server.events.service import event_row, record_events
from licentia.server.leases import rows
from licentia.server.leases.decide import lease_end, seat_for
from licentia.server.leases.document import lease_document
from licentia.server.policies.choices import SeatKind
from licentia.server.policies.terms import activation_expiry
from licentia.server.ratelimit import WINDOW, hit, peek
from licentia.server.store.raw import Record, Statement
from licentia.server.store.tables import leases, licenses

if TYPE_CHECKING:  # the rows' types: for mypy only, never imported at run time
    from licentia.server.devices.row_types import DeviceRow, LicenseTermsRow, PolicyRow, ProductRow
    from licentia.server.leases.row_types import BeatingLeaseRow, LeaseRecord, LeaseRow, LicenseRecord, SeatsTakenRow

# The rate limit's fixed window, as ``ratelimit`` counts it (seconds).
_WINDOW = int(WINDOW.total_seconds())

LIVE = "live"
RELEASED, EXPIRED, FORCE_RELEASED = "released", "expired", "force_released"


@dataclass
class LeaseAnswer:
    """What the router needs once the job committed: sign ``document``, or answer ``error``."""

    document: dict[str, Any] | None = None
    signer: SigningKey | None = None
    endorsements: list[dict[str, str]] = field(default_factory=list)
    error: ApiError | None = None


@dataclass(frozen=True)
class CheckoutRequest:
    product: str
    key: str
    credential: tuple[str, str] | None
    now: dt.datetime
    borrow_days: int | None = None
    client_facts: dict[str, Any] = field(default_factory=dict)
    server_facts: dict[str, Any] = field(default_factory=dict)
    attempts_per_hour: int = 20
    cache_seconds: float = 2.0


def _answer(checker: Checker, conn: sa.Connection, product: ProductRow, lease: LeaseRow, lic: LicenseTermsRow,
            terms: PolicyRow, device: DeviceRow, now: dt.datetime) -> LeaseAnswer:  # fmt: skip
    document = lease_document(
        product=product, lease=lease, license_row=lic, terms=terms, components=machine_components(device), now=now
    )
    signer, chain = checker.keyring.signer(conn, product.id, product.kid)
    return LeaseAnswer(document=document, signer=signer, endorsements=chain)


def _usable(lic: LicenseTermsRow, now: dt.datetime) -> ApiError | None:
    """Why the license allows no use now, or None."""
    if lic.state == LicenseState.SUSPENDED.value:
        return ApiError(ErrorCode.LICENSE_SUSPENDED, "this license is suspended")
    if lic.state == LicenseState.REVOKED.value:
        return ApiError(ErrorCode.LICENSE_REVOKED, "this license was revoked")
    if lic.state == LicenseState.EXPIRED.value or (lic.expires_at is not None and lic.expires_at <= now):
        return ApiError(ErrorCode.LICENSE_EXPIRED, "this license has expired")
    return None


def checkout(conn: sa.Connection, req: CheckoutRequest, *, checker: Checker) -> LeaseAnswer:
    """Check out (or renew) this installation's lease of a floating license; see the module's docstring."""
    try:
        return _checkout(conn, req, checker)
    except ApiError as exc:  # answered as a value: the job's rate-limit hits and evidence are kept
        return LeaseAnswer(error=exc)


def _checkout(conn: sa.Connection, req: CheckoutRequest, checker: Checker) -> LeaseAnswer:
    product = rows.product(conn, checker, req.cache_seconds, slug=req.product)
    if product is None:
        raise ApiError(ErrorCode.UNKNOWN_PRODUCT, f"no product named {req.product!r}")
    device = rows.installation(conn, req.credential)
    if device.product_id != product.id:
        raise ApiError(ErrorCode.INVALID_CREDENTIAL, "unknown device or wrong device secret")
    lic = _license(conn, req, product, device)
    refused = _usable(lic, req.now)
    if refused is not None:
        raise refused
    terms = checker.terms(conn, product, lic)
    if terms.kind != SeatKind.FLOATING:
        raise ApiError(ErrorCode.NOT_FLOATING, "this license is node-locked: activate it instead")
    allowed = int(terms.borrow_days or 0)
    if req.borrow_days and req.borrow_days > allowed:
        raise ApiError(
            ErrorCode.BORROW_NOT_ALLOWED,
            f"this license type lets a seat be borrowed for at most {allowed} days"
            if allowed
            else "this license type allows no borrowing",
        )
    if device.is_virtual and not terms.allow_virtual_machines:
        raise ApiError(ErrorCode.VIRTUAL_MACHINE_NOT_ALLOWED, "this product does not run in virtual machines")
    if device.m_restriction:
        raise ApiError(ErrorCode.MACHINE_RESTRICTED, f"this machine is {device.m_restriction} by the vendor")

    # The seat count is decided under the license's lock (SQLite: the write lock already held).
    if conn.dialect.name == "postgresql":
        rows.LOCK_LICENSE.first(conn, id=lic.id)
    own: LeaseRecord | None = rows.LIVE_LEASE_OF.first(conn, license_id=lic.id, device_id=device.id, now=req.now)
    end = lease_end(
        req.now,
        lease_seconds=terms.floating_lease_seconds,
        borrow_days=req.borrow_days,
        license_expires_at=lic.expires_at,
    )
    if own is not None:
        # The same installation again (a restart, a second process): one lease, renewed; a borrow is never shortened.
        ends = max(own.expires_at, end)
        borrowed = ends if req.borrow_days else own.borrowed_until
        rows.RENEW_LEASE.execute(conn, id=own.id, heartbeat_at=req.now, expires_at=ends, borrowed_until=borrowed)
        lease: LeaseRow = Record({**own, "heartbeat_at": req.now, "expires_at": ends, "borrowed_until": borrowed})
    else:
        reclaim_expired(conn, lic.id, req.now)  # ended leases stop counting (and are listed as expired)
        taken: SeatsTakenRow | None = rows.SEATS_TAKEN.first(conn, license_id=lic.id, machine_id=device.machine_id)
        decision = seat_for(
            holds_seat=bool(taken and taken.mine),
            machines=int(taken.machines) if taken else 0,
            first_end=taken.first_end if taken else None,
            seats=int(terms.max_devices),
        )
        if not decision.granted:
            raise _no_seat(decision.frees_at, req.now, int(terms.max_devices))
        lease = Record(
            id="ls_" + secrets.token_hex(12),
            product_id=product.id,
            license_id=lic.id,
            machine_id=device.machine_id,
            device_id=device.id,
            created_at=req.now,
            heartbeat_at=req.now,
            expires_at=end,
            borrowed_until=end if req.borrow_days else None,
        )
        rows.INSERT_LEASE.execute(conn, **lease)
        lic = _first_use(conn, lic, terms, req.now)
    return _answer(checker, conn, product, lease, lic, terms, device, req.now)


def _license(conn: sa.Connection, req: CheckoutRequest, product: ProductRow, device: DeviceRow) -> LicenseRecord:
    """The license of ``req.key``; wrong keys are rate-limited per machine and network, and kept as evidence."""
    machine_bucket = f"invalid_key:{product.id}:machine:{device.machine_id}"
    network_bucket = f"invalid_key:{product.id}:net:{req.server_facts.get('external_ip') or 'unknown'}"
    window_start = dt.datetime.fromtimestamp(int(req.now.timestamp()) // _WINDOW * _WINDOW, dt.UTC)
    window = {"bucket": machine_bucket, "window_start": window_start}

    def limited(wrong_keys: int | None) -> None:
        # Past the limit a machine learns nothing of any key, not even of a right one.
        if wrong_keys is not None and wrong_keys >= req.attempts_per_hour:
            raise _rate_limited(max(1, int((window_start + WINDOW - req.now).total_seconds())))

    def wrong_key(message: str, prefix: str, reason: str) -> ApiError:
        hit(conn, machine_bucket, req.now)
        hit(conn, network_bucket, req.now)
        record_events(
            conn,
            [
                event_row(
                    product_id=product.id,
                    device_id=device.id,
                    kind=EventKind.INVALID_KEY,
                    received_at=req.now,
                    data={"key_prefix": prefix, "reason": reason, "via": "lease"},
                    client_facts=req.client_facts if product.collect_facts else {},
                    server_facts=req.server_facts,
                )
            ],
        )
        waiting = peek(conn, network_bucket, req.now, limit=req.attempts_per_hour * NETWORK_LIMIT_FACTOR)
        return _rate_limited(waiting) if waiting is not None else ApiError(ErrorCode.INVALID_KEY, message)

    try:
        key = normalize_key(req.key)
    except KeyFormatError as exc:
        found = rows.WRONG_KEYS.first(conn, **window)
        limited(found.count if found is not None else None)
        raise wrong_key(str(exc), "".join(ch for ch in req.key.upper() if ch.isalnum())[:5], "format") from exc
    lic = rows.LICENSE_BY_KEY.first(conn, key_hash=key_hash(key), product_id=product.id, **window)
    limited(lic.wrong_keys if lic is not None else None)
    if lic is None or lic.id is None:
        raise wrong_key("this license key was not issued for this product", key_prefix(key), "not_issued")
    return lic


def _first_use(conn: sa.Connection, lic: LicenseRecord, terms: PolicyRow, now: dt.datetime) -> LicenseRecord:
    """A first checkout is the license's first activation (``from_activation`` expiry counts from it)."""
    if lic.first_activated_at is not None:
        return lic
    values: dict[str, Any] = {"first_activated_at": now}
    expires_at = activation_expiry(terms, lic.expires_at, now)
    if expires_at is not None:
        values["expires_at"] = expires_at
    conn.execute(licenses.update().where(licenses.c.id == lic.id).values(**values))
    return Record({**lic, **values})


def _no_seat(frees_at: dt.datetime | None, now: dt.datetime, seats: int) -> ApiError:
    wait = max(1, int((frees_at - now).total_seconds()) + 1) if frees_at is not None else 60
    when = f"; the next lease ends at {frees_at.isoformat().replace('+00:00', 'Z')}" if frees_at else ""
    return ApiError(
        ErrorCode.NO_SEAT_AVAILABLE,
        f"all {seats} floating seats of this license are in use{when}",
        headers={"Retry-After": str(wait)},
    )


def _rate_limited(retry_after: int) -> ApiError:
    return ApiError(
        ErrorCode.RATE_LIMITED,
        "too many wrong license keys from here; try again later",
        headers={"Retry-After": str(retry_after)},
    )


def reclaim_expired(conn: sa.Connection, license_id: int, now: dt.datetime) -> int:
    """End the license's leases whose time ran out (kept, listed as expired). Returns how many."""
    return rows.RECLAIM.execute(conn, license_id=license_id, now=now)


def _own_lease(
    conn: sa.Connection, lease_id: str, credential: tuple[str, str] | None, statement: Statement = rows.OWN_LEASE
) -> tuple[DeviceRow, Record]:
    """The calling installation (with its machine) and its lease ``lease_id``; another's is as unknown as none."""
    device = rows.installation(conn, credential)
    lease = statement.first(conn, id=lease_id, device_id=device.id)
    if lease is None:
        raise ApiError(ErrorCode.UNKNOWN_LEASE, "this installation holds no lease with this id")
    return device, lease


def _ended(reason: str | None) -> ApiError:
    why = {
        RELEASED: "it was released",
        EXPIRED: "it expired without a heartbeat",
        FORCE_RELEASED: "the vendor freed its seat",
    }.get(reason or "", f"it ended ({reason})")
    return ApiError(ErrorCode.LEASE_EXPIRED, f"this lease has ended: {why}; check out again")


def heartbeat(
    conn: sa.Connection,
    *,
    lease_id: str,
    credential: tuple[str, str] | None,
    now: dt.datetime,
    checker: Checker,
    cache_seconds: float = 2.0,
) -> LeaseAnswer:
    """Keep a live lease for another lease time; an ended one answers ``lease_expired`` (check out again)."""
    try:
        device, found = _own_lease(conn, lease_id, credential, rows.BEATING_LEASE)
        lease: BeatingLeaseRow = found
        if lease.ended_at is not None:
            raise _ended(lease.end_reason)
        if lease.expires_at <= now:
            reclaim_expired(conn, lease.license_id, now)
            raise _ended(EXPIRED)
        lic = rows.license_of(lease)
        product = rows.product(conn, checker, cache_seconds, product_id=lease.product_id)
        if product is None:  # no default policy or no current signing key left: nothing can sign the lease
            raise ApiError(ErrorCode.UNKNOWN_PRODUCT, "this lease's product cannot issue leases now")
        terms = checker.terms(conn, product, lic)
        refused = _usable(lic, now) or (
            None
            if terms.kind == SeatKind.FLOATING
            else ApiError(ErrorCode.NOT_FLOATING, "this license is no longer floating")
        )
        if refused is not None:
            end(conn, lease.id, now, f"license_{refused.code}")
            raise refused
        if lease.borrowed_until is None:
            new_end = lease_end(
                now, lease_seconds=terms.floating_lease_seconds, borrow_days=None, license_expires_at=lic.expires_at
            )
            if not rows.HEARTBEAT.execute(conn, id=lease.id, now=now, expires_at=new_end):
                raise _ended(EXPIRED)  # reclaimed meanwhile by a checkout on another worker
            lease = Record({**lease, "heartbeat_at": now, "expires_at": new_end})
        return _answer(checker, conn, product, lease, lic, terms, device, now)
    except ApiError as exc:
        return LeaseAnswer(error=exc)


def release(
    conn: sa.Connection, *, lease_id: str, credential: tuple[str, str] | None, now: dt.datetime
) -> dict[str, Any]:
    """Return the seat now. Idempotent: releasing an ended lease says how it ended."""
    _device, found = _own_lease(conn, lease_id, credential)
    lease: LeaseRecord = found
    if lease.ended_at is None:
        reason = EXPIRED if lease.expires_at <= now else RELEASED
        ended_at = min(now, lease.expires_at)
        end(conn, lease.id, ended_at, reason)
        lease = Record({**lease, "ended_at": ended_at, "end_reason": reason})
    return lease_view(lease, now)


def end(conn: sa.Connection, lease_id: str, now: dt.datetime, reason: str) -> bool:
    """End a live lease with ``reason``; False if it had already ended."""
    return bool(
        conn.execute(
            leases.update()
            .where(leases.c.id == lease_id, leases.c.ended_at.is_(None))
            .values(ended_at=now, end_reason=reason)
        ).rowcount
    )


def lease_state(lease: LeaseRow, now: dt.datetime) -> str:
    if lease.ended_at is None:
        return LIVE if lease.expires_at > now else EXPIRED
    return str(lease.end_reason or RELEASED)


def lease_view(lease: LeaseRow, now: dt.datetime) -> dict[str, Any]:
    """A lease as the APIs and pages show it."""
    return {
        "id": lease.id,
        "state": lease_state(lease, now),
        "license_id": lease.license_id,
        "machine_id": lease.machine_id,
        "device_id": lease.device_id,
        "created_at": lease.created_at,
        "heartbeat_at": lease.heartbeat_at,
        "expires_at": lease.expires_at,
        "borrowed_until": lease.borrowed_until,
        "ended_at": lease.ended_at,
        "end_reason": lease.end_reason,
    }
