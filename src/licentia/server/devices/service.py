"""The status check, activation and deactivation: the hot path.

Every function here runs inside a writer batch (see ``store.writer``) on a
sync connection, with plain SQLAlchemy Core statements: one product lookup,
one device lookup, one device update, and an event only when something
happened. Signing happens after commit, outside the writer thread.

Principle 1 of DESIGN.md lives here: the public API never raises a status.
Nothing a client says about its own status is read; the only path upward is
:func:`_activate` with a genuine, active license key that has a free seat.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from licentia.core.clock import to_iso
from licentia.core.fingerprint import COMPONENTS, WEAK_COMPONENTS, changed_components, match_count, matches
from licentia.core.signing import SigningKey
from licentia.core.status import ALLOWED_STATUSES, DeviceStatus, LicenseState, trial_status
from licentia.server.devices.seats import Refused, claim_seat
from licentia.server.errors import ApiError
from licentia.server.events.service import event_row, events, record_events
from licentia.server.products.service import Keyring
from licentia.server.releases.service import LatestReleaseCache
from licentia.server.store.batch import BatchScope, RowChanged, current_scope
from licentia.server.store.models import Device, License, table_of
from licentia.server.store.raw import BulkUpdate, Record, Statement

devices = table_of(Device)
licenses = table_of(License)

_DEVICE_DATETIMES = ("first_seen", "last_seen", "trial_end", "activated_at")
_DEVICE_JSON = ("facts",)
_DEVICE_BOOLS = ("is_virtual", "clone_suspected")
_PRODUCT_QUERY = Statement(
    """
    SELECT p.id, p.slug, p.collect_facts, o.trial_days, o.max_devices, o.seat_release_days, o.lease_days,
           o.grace_days, o.usage_report_days, o.fingerprint_min_match, o.on_clone, o.allow_virtual_machines, k.kid
    FROM products p JOIN policies o ON o.product_id = p.id JOIN signing_keys k ON k.product_id = p.id
    WHERE p.slug = :slug AND k.retired_at IS NULL
    ORDER BY k.id DESC LIMIT 1""",
    booleans=("collect_facts", "allow_virtual_machines"),
)
_DEVICE_KW: dict[str, Any] = {
    "datetimes": _DEVICE_DATETIMES,
    "dates": ("seen_day",),
    "json_columns": _DEVICE_JSON,
    "booleans": _DEVICE_BOOLS,
}
_LICENSE_KW: dict[str, Any] = {
    "datetimes": ("expires_at", "created_at", "updated_at"),
    "json_columns": ("features", "policy_overrides"),
}
_DEVICE_BY_ID = Statement("SELECT * FROM devices WHERE id = :id", **_DEVICE_KW)
_LICENSE_BY_ID = Statement("SELECT * FROM licenses WHERE id = :id", **_LICENSE_KW)
_DEVICES_BY_IDS = Statement(
    "SELECT * FROM devices WHERE id = ANY(:ids)",
    sqlite="SELECT * FROM devices WHERE id IN (SELECT value FROM json_each(:ids))",
    **_DEVICE_KW,
)
_LICENSES_BY_IDS = Statement(
    "SELECT * FROM licenses WHERE id = ANY(:ids)",
    sqlite="SELECT * FROM licenses WHERE id IN (SELECT value FROM json_each(:ids))",
    **_LICENSE_KW,
)

# Every device write of the hot path is a compare-and-set on what its decision
# was read from: the token (two copies of one state checking at once through
# two workers must not both get a live token), and the columns the vendor
# changes from the admin UI (a block or trial extension made meanwhile must
# not be overwritten by a decision taken on the old row).
_GUARDS = {"token_hash": "text", "status": "text", "license_id": "integer", "trial_end": "timestamp"}
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
}
# (status changes, first check of the day) -> the statement for the routine write.
_ROUTINE_UPDATES = {
    (status, day): BulkUpdate(
        "devices",
        key="id",
        columns={**_TOUCHED_COLUMNS, **(_STATUS_COLUMNS if status else {}), **(_DAY_COLUMNS if day else {})},
        guards=_GUARDS,
    )
    for status in (False, True)
    for day in (False, True)
}
_ROUTINE_SET = frozenset(_ROUTINE_UPDATES[True, True].columns)
_device_updates: dict[tuple[str, ...], BulkUpdate] = {}


def _as_read(device: Any) -> dict[str, Any]:
    """The guard values of ``device`` as it was read, keyed as BulkUpdate expects."""
    params = {"id": device.id}
    for name in _GUARDS:
        params[f"read_{name}"] = device[name]
    return params


def _update_device(conn: sa.Connection, device: Any, values: dict[str, Any]) -> None:
    """UPDATE the device now, if it is still as read; one cached statement per column set."""
    columns = tuple(sorted(values))
    update = _device_updates.get(columns)
    if update is None:
        update = _device_updates[columns] = BulkUpdate(
            "devices", key="id", columns={name: _DEVICE_TYPES[name] for name in columns}, guards=_GUARDS
        )
    if update.run(conn, [{**_as_read(device), **values}]) != 1:
        raise RowChanged(f"device {device.id} changed since it was read")


def _defer_routine_update(scope: BatchScope, device: Any, values: dict[str, Any], components: dict[str, str]) -> None:
    """Leave the routine check's write to the batch's end; later jobs of the batch read it from the scope.

    The row read is brought up to date in place: what the job reads of it
    afterwards (id, trial end, components, flags) is not among ``values``.
    """
    params = _as_read(device)
    changes_status = values["status"] != device.status or values["status_reason"] != device.status_reason
    update = _ROUTINE_UPDATES[changes_status, "seen_day" in values]
    for name in update.columns:
        params[name] = values[name] if name in values else device[name]
    scope.defer(_flush_routine_updates, (update, params))
    device.update(values)
    for name, value in components.items():
        device[f"fp_{name}"] = value
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


def read_ahead(conn: sa.Connection, device_ids: list[Any]) -> dict[Any, Any]:
    """The devices a writer batch will check, and their licenses: two statements for the whole batch."""
    rows: dict[Any, Any] = {("device", r["id"]): r for r in _DEVICES_BY_IDS.all(conn, ids=list(set(device_ids)))}
    license_ids = list({r["license_id"] for r in rows.values() if r["license_id"] is not None})
    if license_ids:
        rows.update((("license", r["id"]), r) for r in _LICENSES_BY_IDS.all(conn, ids=license_ids))
    return rows


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(slots=True)
class CheckInput:
    product: str
    now: dt.datetime
    credential: tuple[str, str] | None = None
    device_id: str | None = None
    components: dict[str, str] = field(default_factory=dict)
    data_path: str | None = None
    virtual: bool = False
    token: str | None = None
    app_version: str | None = None
    os_name: str | None = None
    client_facts: dict[str, Any] = field(default_factory=dict)
    # What the server saw of the request (address, time zone), made only when an event records it.
    server_facts: Callable[[], dict[str, Any]] = dict
    action: str = "check"  # "check" | "activate" | "deactivate"
    license_key: str | None = None
    channel: str = "stable"


@dataclass
class CheckOutcome:
    """What the router needs once the batch committed: sign ``document`` or raise ``error``."""

    document: dict[str, Any] | None = None
    signer: SigningKey | None = None
    endorsements: list[dict[str, str]] = field(default_factory=list)
    credential: dict[str, str] | None = None
    error: ApiError | None = None


_FP_COLUMNS = tuple((name, f"fp_{name}") for name in COMPONENTS)


def _components(row: Any) -> dict[str, str | None]:
    return {name: row[column] for name, column in _FP_COLUMNS}


def _other_side(conn: sa.Connection, device: Any) -> dict[str, Any]:
    """What is known of the installation holding the live state, for a clone event.

    Only runs when a copy is caught (never on an ordinary check): the device's
    stored client facts and the server facts of its latest ordinary event.
    """
    last = conn.execute(
        sa.select(events.c.server_facts)
        .where(events.c.device_id == device.id, events.c.kind != "clone_suspected")
        .order_by(events.c.id.desc())
        .limit(1)
    ).scalar_one_or_none()
    return {"facts": device.facts or {}, "last_seen": to_iso(device.last_seen), "server_facts": last or {}}


def _new_device_id() -> str:
    return "dv_" + secrets.token_hex(10)


class Checker:
    """Runs check/activate/deactivate jobs; holds the process's keyring."""

    def __init__(
        self, keyring: Keyring, *, activation_attempts_per_hour: int = 20, product_ttl_seconds: float = 2.0
    ) -> None:
        self.keyring = keyring
        self.releases = LatestReleaseCache()
        self.activation_attempts_per_hour = activation_attempts_per_hour
        # Product, policy and current key id, per slug. A policy edit or key
        # rotation reaches every worker within the TTL; the database round trip
        # it saves is a quarter of a check's work on PostgreSQL.
        self._product_ttl = product_ttl_seconds
        self._products: dict[str, tuple[float, Any]] = {}

    def _product(self, conn: sa.Connection, slug: str) -> Any:
        now = time.monotonic()
        cached = self._products.get(slug)
        if cached is not None and now - cached[0] < self._product_ttl:
            return cached[1]
        product = _PRODUCT_QUERY.first(conn, slug=slug)
        if product is not None:
            self._products[slug] = (now, product)
        return product

    def run(self, conn: sa.Connection, inp: CheckInput) -> CheckOutcome:
        product = self._product(conn, inp.product)
        if product is None:
            return CheckOutcome(error=ApiError("unknown_product", f"no product named {inp.product!r}", 404))
        try:
            return self._run(conn, inp, product)
        except Refused as refused:
            # The job's own savepoint is committed, so write only the evidence.
            record_events(conn, refused.evidence)
            return CheckOutcome(error=refused.error)

    def _run(self, conn: sa.Connection, inp: CheckInput, product: Any) -> CheckOutcome:
        scope = current_scope(conn)
        if scope is not None and inp.action != "check":
            # Seats are counted from the table: let it hold this batch's earlier work first.
            scope.flush(conn)
        facts = inp.client_facts if product.collect_facts else {}
        evidence: list[dict[str, Any]] = []

        def note(device_id: str | None, kind: str, **kw: Any) -> None:
            evidence.append(
                event_row(
                    product_id=product.id,
                    device_id=device_id,
                    kind=kind,
                    received_at=inp.now,
                    client_facts=facts,
                    server_facts=inp.server_facts(),
                    **kw,
                )
            )

        device, secret, changes = self._identify(conn, inp, product, facts, note)
        new_token = secrets.token_urlsafe(24)
        token_hash, prev_hash = sha256(new_token), device.token_hash
        clone = False
        if changes.get("created"):
            prev_hash = None
        elif inp.token and not secret:
            presented = sha256(inp.token)
            if device.token_hash and hmac.compare_digest(presented, device.token_hash):
                pass
            elif device.prev_token_hash and hmac.compare_digest(presented, device.prev_token_hash):
                # The client never got the last answer: accept it once. The token
                # it never saw dies (if a copy shows up holding it, that copy is
                # caught), and so does the previous one: kept, a copied state file
                # frozen on that token would be accepted on every check, forever.
                prev_hash = None
            else:
                # An older token means the installation's state was copied to, or
                # restored on, another machine: this copy gets no live token.
                clone = True
                token_hash, prev_hash, new_token = device.token_hash, device.prev_token_hash, ""
                note(
                    device.id,
                    "clone_suspected",
                    license_id=device.license_id,
                    client_event_id=f"clone-{presented[:24]}",
                    data={"reason": "stale_token", "other_side": _other_side(conn, device)},
                )
        elif secret and not changes.get("created"):
            prev_hash = None  # re-identified installation: a fresh token chain
        if changes.get("clone_of") and changes.get("created"):
            # The copy is a device of its own now; its timeline starts with the evidence too.
            note(
                device.id,
                "clone_suspected",
                license_id=changes["original_license_id"],
                data={"reason": "state_copied", "copy_of": changes["clone_of"], "other_side": changes["original"]},
            )

        values: dict[str, Any] = {"last_seen": inp.now, "usage_count": device.usage_count + 1}
        status, reason = device.status, device.status_reason
        license_row = None
        if device.license_id is not None:
            license_row = scope.rows.get(("license", device.license_id)) if scope is not None else None
            if license_row is None:
                license_row = _LICENSE_BY_ID.first(conn, id=device.license_id)

        if inp.action == "activate":
            license_row = claim_seat(
                conn,
                typed_key=inp.license_key or "",
                product=product,
                device=device,
                now=inp.now,
                client_facts=facts,
                server_facts=inp.server_facts(),
                attempts_per_hour=self.activation_attempts_per_hour,
            )
            status, reason = DeviceStatus.REGISTERED.value, None
            values.update(license_id=license_row.id, activated_at=inp.now)
            note(
                device.id,
                "register",
                license_id=license_row.id,
                data={"key_prefix": license_row.key_prefix, "result": "activated"},
            )
        elif inp.action == "deactivate" and device.license_id is not None:
            status, reason = trial_status(device.trial_end, inp.now).value, "deactivated"
            values.update(license_id=None, activated_at=None)
            note(device.id, "deactivate", license_id=device.license_id)
            license_row = None

        if clone or changes.get("clone_of"):
            values["clone_suspected"] = True
            if product.on_clone == "block":
                status, reason = DeviceStatus.BLOCKED.value, "clone_suspected"

        # Persisted transitions: trial end, revoked license.
        if status == DeviceStatus.TRIAL.value:
            status = trial_status(device.trial_end, inp.now).value
        if status == DeviceStatus.REGISTERED.value and (
            license_row is None or license_row.state == LicenseState.REVOKED.value
        ):
            status, reason = trial_status(device.trial_end, inp.now).value, "license_revoked"
            values.update(license_id=None)
            license_row = None
        values.update(status=status, status_reason=reason)

        if inp.app_version and inp.app_version != device.app_version:
            values["app_version"] = inp.app_version
            if device.app_version and not changes.get("created"):
                note(device.id, "upgrade", data={"from": device.app_version, "to": inp.app_version})
        if inp.os_name and inp.os_name != device.os_name:
            values["os_name"] = inp.os_name
        if facts:
            values["facts"] = facts
        if not clone:
            values.update(token_hash=token_hash, prev_token_hash=prev_hash)
        today = inp.now.date()
        if device.seen_day != today:
            values["seen_day"] = today
        if device.last_seen.date() != today or changes.get("created"):
            # One "check" a day per device feeds the active-device rollups.
            note(
                device.id,
                "check",
                client_event_id=f"check-{inp.now.date().isoformat()}",
                data={"app_version": inp.app_version},
            )
        if scope is not None and inp.action == "check" and values.keys() <= _ROUTINE_SET:
            _defer_routine_update(scope, device, values, changes.get("components", {}))
            for row in evidence:
                scope.defer(record_events, row)
        else:
            _update_device(conn, device, values)
            record_events(conn, evidence)

        # Effective status, not persisted: reinstating a license or allowing VMs restores it.
        if status == DeviceStatus.REGISTERED.value and license_row is not None:
            if license_row.state == LicenseState.SUSPENDED.value:
                status, reason = DeviceStatus.SUSPENDED.value, "license_suspended"
            elif license_row.state == LicenseState.EXPIRED.value or (
                license_row.expires_at is not None and license_row.expires_at <= inp.now
            ):
                status, reason = DeviceStatus.SUSPENDED.value, "license_expired"
        if device.is_virtual and not product.allow_virtual_machines and status in ALLOWED_STATUSES:
            status, reason = DeviceStatus.BLOCKED.value, "virtual_machine"

        signer, chain = self.keyring.signer(conn, product.id, product.kid)
        stored = {**_components(device), **changes.get("components", {})}
        document = {
            "v": 1,
            "product": product.slug,
            "device": device.id,
            "device_id": device.external_id,
            "components": {k: v for k, v in stored.items() if v},
            "data_path": device.data_path_hash,
            "min_match": product.fingerprint_min_match,
            "status": status,
            "reason": reason,
            "allowed": status in ALLOWED_STATUSES,
            "trial_end": to_iso(device.trial_end) if device.trial_end else None,
            "license": None
            if license_row is None
            else {
                "key_prefix": license_row.key_prefix,
                "state": license_row.state,
                "expires_at": to_iso(license_row.expires_at) if license_row.expires_at else None,
            },
            "features": list(license_row.features or []) if license_row is not None else [],
            "issued_at": to_iso(inp.now),
            "lease_until": to_iso(inp.now + dt.timedelta(days=product.lease_days)),
            "grace_days": product.grace_days,
            "usage_report_days": product.usage_report_days or product.trial_days + 1,
            "token": new_token or None,
            "clone_suspected": bool(clone or changes.get("clone_of") or device.clone_suspected),
            "latest_release": self.releases.get(conn, product.id, inp.channel),
        }
        credential = {"device": device.id, "secret": secret} if secret else None
        return CheckOutcome(document=document, signer=signer, endorsements=chain, credential=credential)

    # -- identification ------------------------------------------------------

    def _identify(
        self, conn: sa.Connection, inp: CheckInput, product: Any, facts: dict[str, Any], note: Any
    ) -> tuple[Any, str | None, dict[str, Any]]:
        """Find the calling installation, or create it in trial. Returns (row, new secret, changes)."""
        changes: dict[str, Any] = {}
        if inp.credential is not None:
            device_id, secret = inp.credential
            scope = current_scope(conn)
            row = scope.rows.get(("device", device_id)) if scope is not None else None
            if row is None:
                row = _DEVICE_BY_ID.first(conn, id=device_id)
            if row is None or row.product_id != product.id or not hmac.compare_digest(sha256(secret), row.secret_hash):
                raise Refused(ApiError("invalid_credential", "unknown device or wrong device secret", 401))
            stored = _components(row)
            moved = inp.components and (
                (row.data_path_hash or None) != (inp.data_path or None)
                or (any(stored.values()) and not matches(stored, inp.components, product.fingerprint_min_match))
            )
            if not moved:
                self._note_hardware(conn, row, inp, note, changes)
                return row, None, changes
            # The state of this installation now runs on another machine or in
            # another folder: a copy. It becomes its own device, with evidence on both.
            changes["clone_of"] = row.id
            changes["original"] = _other_side(conn, row)
            changes["original_license_id"] = row.license_id
            note(
                row.id,
                "clone_suspected",
                license_id=row.license_id,
                data={
                    "reason": "state_copied",
                    "changed": changed_components(_components(row), inp.components),
                    "other_side": changes["original"],
                },
            )
            conn.execute(devices.update().where(devices.c.id == row.id).values(clone_suspected=True))
        elif inp.device_id is not None:
            known = conn.execute(
                sa.select(devices.c.id).where(
                    devices.c.product_id == product.id, devices.c.external_id == inp.device_id
                )
            ).first()
            if known is not None:
                raise Refused(
                    ApiError(
                        "device_credential_required",
                        "this device id is known: send the device credential issued at first contact",
                        401,
                    )
                )
            return self._create(conn, inp, product, changes)
        if not inp.components:
            raise Refused(ApiError("validation_error", "send a fingerprint or a device_id", 422))
        if inp.action != "check" and inp.credential is None:
            raise Refused(ApiError("invalid_credential", "activation needs the device credential", 401))

        row = self._find_by_fingerprint(conn, inp, product)
        if row is None:
            return self._create(conn, inp, product, changes)
        if changes.get("clone_of") and row.id == changes["clone_of"]:
            return self._create(conn, inp, product, changes)
        # A known installation without its state (reinstalled, or data wiped): same device, new secret.
        secret = secrets.token_urlsafe(32)
        conn.execute(devices.update().where(devices.c.id == row.id).values(secret_hash=sha256(secret)))
        self._note_hardware(conn, row, inp, note, changes)
        return row, secret, changes

    def _find_by_fingerprint(self, conn: sa.Connection, inp: CheckInput, product: Any) -> Any:
        strong = [
            devices.c[f"fp_{name}"] == value for name, value in inp.components.items() if name not in WEAK_COMPONENTS
        ]
        if not strong:
            return None
        rows = conn.execute(
            sa.select(devices)
            .where(devices.c.product_id == product.id, devices.c.external_id.is_(None), sa.or_(*strong))
            .order_by(devices.c.last_seen.desc())
            .limit(50)
        ).all()
        best, best_count = None, 0
        for row in rows:
            if (row.data_path_hash or None) != (inp.data_path or None):
                continue  # side-by-side installation in another folder
            stored = _components(row._mapping)
            if not matches(stored, inp.components, product.fingerprint_min_match):
                continue
            count = match_count(stored, inp.components)
            if count > best_count:
                best, best_count = row, count
        return None if best is None else Record(best._mapping)

    def _create(
        self, conn: sa.Connection, inp: CheckInput, product: Any, changes: dict[str, Any]
    ) -> tuple[Any, str, dict[str, Any]]:
        secret = secrets.token_urlsafe(32)
        values = {
            "id": _new_device_id(),
            "product_id": product.id,
            "external_id": inp.device_id,
            "data_path_hash": inp.data_path,
            **{f"fp_{name}": inp.components.get(name) for name in COMPONENTS},
            "is_virtual": inp.virtual,
            "os_name": inp.os_name,
            "app_version": inp.app_version,
            "first_seen": inp.now,
            "last_seen": inp.now,
            "status": DeviceStatus.TRIAL.value,
            "status_reason": None,
            "trial_end": inp.now + dt.timedelta(days=product.trial_days),
            "license_id": None,
            "activated_at": None,
            "secret_hash": sha256(secret),
            "token_hash": None,
            "prev_token_hash": None,
            "usage_count": 0,
            "clone_suspected": bool(changes.get("clone_of")),
            "facts": {},
        }
        conn.execute(devices.insert().values(**values))
        changes["created"] = True
        return _DEVICE_BY_ID.first(conn, id=values["id"]), secret, changes

    def _note_hardware(
        self, conn: sa.Connection, row: Any, inp: CheckInput, note: Any, changes: dict[str, Any]
    ) -> None:
        changed = [n for n in changed_components(_components(row), inp.components) if n in COMPONENTS]
        if not changed:
            return
        updates = {f"fp_{name}": inp.components[name] for name in changed}
        conn.execute(devices.update().where(devices.c.id == row.id).values(**updates))
        changes["components"] = {name: inp.components[name] for name in changed}
        note(row.id, "hardware_changed", license_id=row.license_id, data={"changed": changed})

    # -- activation ------------------------------------------------------------


def authenticate(conn: sa.Connection, credential: tuple[str, str] | None) -> Any:
    """The calling device's row, or 401: a device id alone is never enough."""
    if credential is None:
        raise ApiError("invalid_credential", "this call needs the device credential (Authorization: Device ...)", 401)
    device_id, secret = credential
    row = conn.execute(sa.select(devices).where(devices.c.id == device_id)).first()
    if row is None or not hmac.compare_digest(sha256(secret), row.secret_hash):
        raise ApiError("invalid_credential", "unknown device or wrong device secret", 401)
    return row
