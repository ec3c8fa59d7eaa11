"""The status check, activation and deactivation: the hot path.

A check is four small steps, each in its own module:

1. identify (``identify.py``): which machine and installation is calling;
2. the token chain (here): rotate it, or catch a copied state;
3. decide (``decide.py``): a pure function of the rows read, the policy and the time;
4. write (``rows.py``): the installation's guarded update, deferred to the
   batch's end for a routine check; then the document (``document.py``) is
   signed by the router after the batch commits.

Every function here runs inside a writer batch (see ``store.writer``) on a
sync connection. Principle 1 of docs/design.md: the public API never raises a
status. Nothing a client says about its own status is read; the only path
upward is ``seats.claim_seat`` with a genuine, active license key.
"""

from __future__ import annotations

import datetime as dt
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from licentia.core.signing import SigningKey
from licentia.core.vocabulary import EventKind
from licentia.server.devices.decide import COPY_BLOCK_REASON, Situation, decide
from licentia.server.devices.document import status_document
from licentia.server.devices.identify import Token, describe, identify
from licentia.server.devices.installer_tickets import start_from_ticket, verified_ticket
from licentia.server.devices.rows import (
    ROUTINE_COLUMNS,
    defer_routine_update,
    flag_copy,
    read_ahead,
    read_license,
    sha256,
    update_device,
)
from licentia.server.devices.seats import Refused, claim_seat
from licentia.server.devices.transfers import FreedBy, seat_freed
from licentia.server.devices.user_activity import touch_user
from licentia.server.errors import ApiError, ErrorCode
from licentia.server.events.service import event_row, record_events
from licentia.server.policies.choices import OnClone
from licentia.server.policies.terms import effective
from licentia.server.products.service import Keyring
from licentia.server.releases.service import LatestReleaseCache
from licentia.server.store.batch import current_scope
from licentia.server.store.raw import Statement
from licentia.server.store.tables import devices

if TYPE_CHECKING:  # the rows' types: for mypy only, never imported at run time
    from licentia.server.devices.identify import Note
    from licentia.server.devices.row_types import CheckProductRow, DeviceRow, LicenseTermsRow, PolicyRow, ProductRow

__all__ = ["CheckInput", "CheckOutcome", "Checker", "read_ahead"]

_PRODUCT_QUERY = Statement(
    """
    SELECT p.id, p.slug, p.collect_facts, p.test_mode, p.proxy_trail, p.usage_report_once,
           o.id AS policy_id, o.trial_days, o.max_devices,
           o.seat_release_days, o.lease_days, o.grace_days, o.usage_report_days, o.fingerprint_min_match, o.on_clone,
           o.allow_virtual_machines, k.kid
    FROM products p JOIN policies o ON o.product_id = p.id AND o.is_default
    JOIN signing_keys k ON k.product_id = p.id
    WHERE p.slug = :slug AND k.retired_at IS NULL
    ORDER BY k.id DESC LIMIT 1""",
    booleans=("collect_facts", "test_mode", "proxy_trail", "usage_report_once", "allow_virtual_machines"),
)
# Every license type of the product, read with the product (once per cache lifetime, never per check).
_POLICIES_QUERY = Statement(
    "SELECT * FROM policies WHERE product_id = :product_id",
    datetimes=("expiry_date", "updated_at"),
    json_columns=("entitlements", "meters"),
    booleans=("is_default", "allow_virtual_machines"),
)


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
    action: str = "check"  # "check" | "activate" | "deactivate" | "move"
    license_key: str | None = None
    channel: str = "stable"
    resumed: bool = False  # the SDK resumes the installation from its escrow (a reinstall)
    installer_ticket: str | None = None  # the signed ticket beside the installer, unverified (tickets/)


@dataclass
class CheckOutcome:
    """What the router needs once the batch committed: sign ``document`` or raise ``error``."""

    document: dict[str, Any] | None = None
    signer: SigningKey | None = None
    endorsements: list[dict[str, str]] = field(default_factory=list)
    credential: dict[str, str] | None = None
    error: ApiError | None = None
    # The product is in test mode: nothing was written; the router keeps the post apart and echoes it.
    test_mode: bool = False


class Checker:
    """Runs check/activate/deactivate jobs; holds the process's keyring."""

    def __init__(
        self, keyring: Keyring, *, activation_attempts_per_hour: int = 20, product_ttl_seconds: float = 2.0
    ) -> None:
        self.keyring = keyring
        self.releases = LatestReleaseCache()
        self.activation_attempts_per_hour = activation_attempts_per_hour
        # Product, its default policy and current key id, per slug, and the
        # product's license types by id. A policy edit or key rotation reaches
        # every worker within the TTL; the database round trip it saves is a
        # quarter of a check's work on PostgreSQL.
        self._product_ttl = product_ttl_seconds
        self._products: dict[str, tuple[float, CheckProductRow]] = {}
        self._policies: dict[int, tuple[float, dict[int, PolicyRow]]] = {}

    def _product(self, conn: sa.Connection, slug: str) -> CheckProductRow | None:
        now = time.monotonic()
        cached = self._products.get(slug)
        if cached is not None and now - cached[0] < self._product_ttl:
            return cached[1]
        product = _PRODUCT_QUERY.first(conn, slug=slug)
        if product is not None:
            self._products[slug] = (now, product)
        return product

    def policy(self, conn: sa.Connection, product: ProductRow, policy_id: int | None) -> PolicyRow:
        """A license type of ``product`` (its default for None), cached like the product."""
        now = time.monotonic()
        cached = self._policies.get(product.id)
        wanted = product.policy_id if policy_id is None else policy_id
        if cached is None or now - cached[0] >= self._product_ttl or wanted not in cached[1]:
            # A policy created since the last read is a miss too: read them all again.
            cached = (now, {row.id: row for row in _POLICIES_QUERY.all(conn, product_id=product.id)})
            self._policies[product.id] = cached
        found = cached[1].get(wanted)
        return found if found is not None else cached[1][product.policy_id]

    def terms(self, conn: sa.Connection, product: ProductRow, license_row: LicenseTermsRow | None) -> PolicyRow:
        """The policy a check follows: the license's with its overrides, or the product's default."""
        if license_row is None:
            return self.policy(conn, product, None)
        return effective(self.policy(conn, product, license_row.policy_id), license_row.policy_overrides)

    def run(self, conn: sa.Connection, inp: CheckInput) -> CheckOutcome:
        product = self._product(conn, inp.product)
        if product is None:
            return CheckOutcome(error=ApiError(ErrorCode.UNKNOWN_PRODUCT, f"no product named {inp.product!r}"))
        if product.test_mode:
            return CheckOutcome(test_mode=True)
        try:
            return self._run(conn, inp, product)
        except Refused as refused:
            # The job's own savepoint is committed, so write only the evidence.
            record_events(conn, refused.evidence)
            return CheckOutcome(error=refused.error)

    def _run(self, conn: sa.Connection, inp: CheckInput, product: CheckProductRow) -> CheckOutcome:
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
                    occurred_at=inp.now,
                    client_facts=facts,
                    server_facts=inp.server_facts(),
                    **kw,
                )
            )

        # 1. Who is calling (a first contact's installer ticket is verified before anything is written).
        ticket = (
            verified_ticket(conn, product, inp.installer_ticket)
            if inp.installer_ticket and not inp.credential
            else None
        )
        found = identify(conn, inp, product, note)
        device = found.device

        # 2. The token chain.
        new_token = secrets.token_urlsafe(24)
        token_hash: str | None = sha256(new_token)
        prev_hash = device.token_hash
        copy_caught = found.copy_of is not None
        if ticket is not None and found.created and start_from_ticket(conn, note, device, ticket, inp.now):
            copy_caught = True  # another computer started from this download's ticket: a copy of it
        values: dict[str, Any] = {"last_seen": inp.now, "usage_count": device.usage_count + 1}
        if found.token is Token.NEW or (found.lifecycle is not None and found.lifecycle.via == "reinstall"):
            # A new installation, or one reinstalled: its chain starts now.
            prev_hash = None
        elif found.token is Token.PREVIOUS:
            # The client never got the last answer: accept it once. The token
            # it never saw dies (if a copy shows up holding it, that copy is
            # caught), and so does the previous one: kept, a copied state file
            # frozen on that token would be accepted on every check, forever.
            prev_hash = None
        elif found.token is Token.STALE:
            # An older token means the installation's state was copied to, or
            # restored on, another machine: this copy gets no live token.
            copy_caught = True
            token_hash, prev_hash, new_token = device.token_hash, device.prev_token_hash, ""
            note(
                device.id,
                EventKind.CLONE_SUSPECTED,
                license_id=device.license_id,
                client_event_id=f"clone-{sha256(inp.token or '')[:24]}",
                data={"reason": "stale_token", "other_side": describe(conn, device)},
            )
        if found.twin_of is not None:
            # Someone without this installation's credential was recognised as
            # its reinstall, and this one still checks in with its live state:
            # one of them is a copy. Evidence on both; only the side that proved
            # nothing (the recognised one) is blocked by an ``on_clone = block``.
            self._twins(conn, note, device, found.twin_of, product)
            values["superseded_by"] = None

        # 3. Seats, then the decision.
        license_row = read_license(conn, scope, device.license_id) if device.license_id is not None else None
        gave_back: tuple[int, FreedBy] | None = None  # the seat the application gives back here, and how
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
                terms_of=lambda lic: self.terms(conn, product, lic),
            )
            if device.license_id != license_row.id:
                if device.license_id is not None:
                    gave_back = (device.license_id, FreedBy.SWITCHED)
                values.update(license_id=license_row.id, activated_at=inp.now)
                note(
                    device.id,
                    EventKind.REGISTER,
                    license_id=license_row.id,
                    data={"key_prefix": license_row.key_prefix, "result": "activated"},
                )
        deactivated = False
        if inp.action == "deactivate" and device.license_id is not None:
            deactivated = True
            gave_back = (device.license_id, FreedBy.DEACTIVATE)
            values.update(license_id=None, activated_at=None)
            note(device.id, EventKind.DEACTIVATE, license_id=device.license_id)
            license_row = None
        terms = self.terms(conn, product, license_row)
        decision = decide(
            Situation(
                now=inp.now,
                stored_status=device.status,
                stored_reason=device.status_reason,
                trial_end=device.m_trial_end,
                restriction=device.m_restriction,
                restriction_reason=device.m_restriction_reason,
                license_state=license_row.state if license_row is not None else None,
                license_expires_at=license_row.expires_at if license_row is not None else None,
                deactivated=deactivated,
                copy_caught=copy_caught,
                copy_reason=found.copy_reason,
                on_clone=terms.on_clone,
                virtual=device.is_virtual,
                allow_virtual_machines=terms.allow_virtual_machines,
            )
        )
        if decision.drop_license:
            values.update(license_id=None)
            license_row = None
            terms = self.terms(conn, product, None)
        if copy_caught and not device.clone_suspected:
            values["clone_suspected"] = True
        values.update(status=decision.status, status_reason=decision.reason)

        # 4. The writes.
        if found.lifecycle is not None:
            kind, data = found.lifecycle.event(inp.app_version)
            note(device.id, kind, data=data)
        if found.moved_to is not None:
            values["data_path_hash"] = found.moved_to
        if inp.app_version and inp.app_version != device.app_version:
            values["app_version"] = inp.app_version
            if device.app_version and not found.created and found.lifecycle is None:
                note(device.id, EventKind.UPGRADE, data={"from": device.app_version, "to": inp.app_version})
        if inp.os_name and inp.os_name != device.os_name:
            values["os_name"] = inp.os_name
        if facts:
            values["facts"] = facts
        if new_token:
            values.update(token_hash=token_hash, prev_token_hash=prev_hash)
        today = inp.now.date()
        if device.seen_day != today:
            values["seen_day"] = today
        if device.last_seen.date() != today or found.created:
            if device.user_email and license_row is not None:  # once a day: the user seats' "recently active"
                touch_user(conn, license_row.id, device.user_email, inp.now)
            # One "check" a day per installation feeds the active-device rollups.
            note(
                device.id,
                EventKind.CHECK,
                client_event_id=f"check-{today.isoformat()}",
                # A first contact's check row also announces the trial start (notify.subscriptions).
                data={"app_version": inp.app_version, **({"trial_started": True} if found.new_machine else {})},
            )
        clone_suspected = bool(copy_caught or device.clone_suspected)
        if scope is not None and inp.action == "check" and values.keys() <= ROUTINE_COLUMNS:
            defer_routine_update(scope, device, values)
            for row in evidence:
                scope.defer(record_events, row)
        else:
            update_device(conn, device, values)
            record_events(conn, evidence)
            if found.moved_to is not None:
                device["data_path_hash"] = found.moved_to  # the document names the folder it moved to
        if gave_back is not None:
            # The application gave its seat back: the next machine to take it may be a transfer (transfers.py).
            seat_freed(conn, license_id=gave_back[0], machine_id=device.machine_id, now=inp.now, by=gave_back[1])

        signer, chain = self.keyring.signer(conn, product.id, product.kid)
        document = status_document(
            product=product,
            terms=terms,
            device=device,
            decision=decision,
            license_row=license_row,
            token=new_token or None,
            clone_suspected=clone_suspected,
            releases=self.releases.get(conn, product.id, inp.channel),
            now=inp.now,
            registered_at=values.get("activated_at", device.activated_at) if license_row is not None else None,
        )
        credential = {"device": device.id, "secret": found.secret} if found.secret else None
        return CheckOutcome(document=document, signer=signer, endorsements=chain, credential=credential)

    def _twins(
        self, conn: sa.Connection, note: Note, device: DeviceRow, successor_id: str, product: CheckProductRow
    ) -> None:
        successor = conn.execute(sa.select(devices).where(devices.c.id == successor_id)).first()
        if successor is None:
            return
        data = {"reason": "recognised_while_alive", "installations": [device.id, successor_id]}
        note(
            device.id,
            EventKind.CLONE_SUSPECTED,
            license_id=device.license_id,
            client_event_id=f"twin-{successor_id}",
            data={**data, "other_side": describe(conn, successor)},
        )
        note(
            successor_id,
            EventKind.CLONE_SUSPECTED,
            client_event_id=f"twin-{device.id}",
            data={**data, "other_side": describe(conn, device)},
        )
        flag_copy(conn, current_scope(conn), device.id)
        if product.on_clone == OnClone.BLOCK:
            conn.execute(
                devices.update()
                .where(devices.c.id == successor_id)
                .values(status="blocked", status_reason=COPY_BLOCK_REASON, clone_suspected=True)
            )
        else:
            flag_copy(conn, current_scope(conn), successor_id)
