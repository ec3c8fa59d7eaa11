"""Which machine and which installation is calling: the first step of every status check.

Two levels of identity (docs/design.md, principle 3 and section 5). A *machine* is one computer
as a product sees it: hashed hardware components matched K of N. An
*installation* (the public API's "device") is one application data path on a
machine. What authenticates an installation is only its credential (the
device id and the secret the server issued); a fingerprint is public data
(it sits in every state file) and never authenticates anything:

- with a credential: that installation. Hardware beyond the policy's tolerance
  with the current token is a hardware change of the machine (the license
  stays); with a stale or missing token it is a copy of the state on other
  hardware, which becomes an installation of its own, with evidence on both.
  Hardware that keeps none of the machine's strong components is another
  computer whatever the token: the state was carried there (a copy, told to
  its user as ``moved_to_other_machine``), and the original keeps its chain.
  The credential without a token and with ``resumed``, from the same machine
  and data path, is the installation reinstalled (its data folder deleted, its
  credential kept outside it): the same installation, on a new token chain. ``POST /v1/move``
  with the live token moves it to another data path of the same machine.
- without one: a new installation. When the fingerprint matches a known
  machine it joins that machine, so it shares the machine's trial and block
  (a reinstall or another OS user never restarts a trial), and inherits what
  restricts its predecessor at the same data path (a copy block, the copy
  flag), never what it was granted: a license is only claimed again with the
  key. The predecessor's credential stays valid; if both keep checking in,
  :func:`identify` records a copy on both.
"""

from __future__ import annotations

import datetime as dt
import enum
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from licentia.core.clock import to_iso
from licentia.core.fingerprint import (
    COMPONENTS,
    another_computer,
    changed_components,
    matches,
)
from licentia.core.status import DeviceStatus
from licentia.core.vocabulary import EventKind, StatusReason
from licentia.server.devices.decide import COPY_BLOCK_REASON
from licentia.server.devices.lineage import Lifecycle
from licentia.server.devices.rows import (
    DEVICE_BY_ID,
    find_machine,
    flag_copy,
    insert_machine,
    machine_components,
    move_machine_hardware,
    new_device_id,
    read_device,
    sha256,
)
from licentia.server.devices.seats import Refused
from licentia.server.errors import ApiError, ErrorCode
from licentia.server.store.batch import current_scope
from licentia.server.store.tables import devices, events

if TYPE_CHECKING:  # for mypy only, never imported at run time
    from licentia.server.devices.row_types import CheckProductRow, DescribedDevice, DeviceRow, TokenChain
    from licentia.server.devices.service import CheckInput

Note = Callable[..., None]


class Token(enum.Enum):
    """What the presented rotating token says about the state it came from."""

    NEW = "new"  # a new installation: its chain starts now
    CURRENT = "current"
    PREVIOUS = "previous"  # the client never got the last answer: accepted once
    STALE = "stale"  # an older token: this state was copied or restored
    ABSENT = "absent"  # none presented (web-API callers that keep no token)
    UNISSUED = "unissued"  # the installation was never given one


def token_state(row: TokenChain, presented: str | None) -> Token:
    if row.token_hash is None:
        return Token.UNISSUED
    if not presented:
        return Token.ABSENT
    digest = sha256(presented)
    if hmac.compare_digest(digest, row.token_hash):
        return Token.CURRENT
    if row.prev_token_hash and hmac.compare_digest(digest, row.prev_token_hash):
        return Token.PREVIOUS
    return Token.STALE


# Tokens that prove the caller holds the installation's live state, as a
# hardware change needs. Not the previous token: the lost-answer retry it
# allows comes from the same hardware (the machine already moved with the
# answer that was lost), while old hardware with it is the side left behind.
LIVE_TOKENS = frozenset({Token.CURRENT, Token.UNISSUED})


@dataclass(slots=True)
class Identity:
    device: DeviceRow  # the installation's row, with its machine's columns (``m_*``)
    token: Token
    secret: str | None = None  # a new credential, issued with this answer
    copy_of: str | None = None  # this installation was made for a copy of that one
    copy_reason: str | None = None  # what the copy's user is told (``moved_to_other_machine``)
    twin_of: str | None = None  # the successor that recognised this installation while it still checks in
    hardware_changed: list[str] = field(default_factory=list)
    new_machine: bool = False  # a computer seen for the first time: its trial starts now
    lifecycle: Lifecycle | None = None  # reinstalled or moved by this call
    moved_to: str | None = None  # the data path this installation moves to (``POST /v1/move``)

    @property
    def created(self) -> bool:
        return self.token is Token.NEW


def identify(conn: sa.Connection, inp: CheckInput, product: CheckProductRow, note: Note) -> Identity:
    if inp.credential is not None:
        return _by_credential(conn, inp, inp.credential, product, note)
    if inp.device_id is not None:
        known = conn.execute(
            sa.select(devices.c.id).where(devices.c.product_id == product.id, devices.c.external_id == inp.device_id)
        ).first()
        if known is not None:
            raise Refused(
                ApiError(
                    ErrorCode.DEVICE_CREDENTIAL_REQUIRED,
                    "this device id is known: send the device credential issued at first contact",
                )
            )
        found = _create(conn, inp, product, _new_machine(conn, inp, product, {}))
        found.new_machine = True
        return found
    if not inp.components:
        raise Refused(ApiError(ErrorCode.VALIDATION_ERROR, "send a fingerprint or a device_id"))
    if inp.action != "check":
        raise Refused(ApiError(ErrorCode.INVALID_CREDENTIAL, f"{inp.action} needs the device credential"))
    return _recognise(conn, inp, product)


def _by_credential(
    conn: sa.Connection, inp: CheckInput, credential: tuple[str, str], product: CheckProductRow, note: Note
) -> Identity:
    device_id, secret = credential
    scope = current_scope(conn)
    row = read_device(conn, scope, device_id)
    if row is None or row.product_id != product.id or not hmac.compare_digest(sha256(secret), row.secret_hash):
        raise Refused(ApiError(ErrorCode.INVALID_CREDENTIAL, "unknown device or wrong device secret"))
    token = token_state(row, inp.token)
    presented = inp.components
    moving = inp.action == "move" and _moves(row, inp, token, product)
    if presented and not moving and (row.data_path_hash or None) != (inp.data_path or None):
        # This installation's state now runs in another folder (or for another
        # user) without having been moved there: a copy of the state, whatever the hardware says.
        return _copy(conn, inp, product, note, row, reason="state_copied", changed=["data_path"])
    found = Identity(row, token)
    stored = machine_components(row)
    changed = [name for name in changed_components(stored, presented) if name in COMPONENTS]
    if changed and any(stored.values()):
        if another_computer(stored, presented):
            # Not one part of the machine left, whatever the token: the state was carried to
            # another computer (an upgrade keeps some part). The original keeps its chain and
            # its license; the other computer is activated with the key.
            copy = _copy(
                conn, inp, product, note, row, reason=StatusReason.MOVED_TO_OTHER_MACHINE, changed=changed, flag=False
            )
            copy.copy_reason = StatusReason.MOVED_TO_OTHER_MACHINE.value
            return copy
        within = matches(stored, presented, product.fingerprint_min_match)
        if not within and token not in LIVE_TOKENS:
            # Other hardware without the live token: the state was copied there.
            return _copy(conn, inp, product, note, row, reason="state_copied", changed=changed)
        # The live state on changed hardware: a new disk and network card, not a copy.
        move_machine_hardware(conn, scope, row, {name: presented[name] for name in changed}, inp.now)
        note(
            row.id,
            EventKind.HARDWARE_CHANGED,
            license_id=row.license_id,
            data={"changed": changed, "machine": row.machine_id, "beyond_tolerance": not within},
        )
        found.hardware_changed = changed
    if moving:
        found.moved_to = inp.data_path
        found.lifecycle = Lifecycle(
            "move", row.app_version, {"data_path": {"from": row.data_path_hash, "to": inp.data_path}}
        )
    elif inp.resumed and token is Token.ABSENT and presented and row.external_id is None:
        # The credential without its token, from this machine and data path, and the client says it
        # resumes: the data folder was deleted and the credential kept outside it (the SDK's escrow).
        # Callers that keep no token and say nothing (web-API integrations, the benchmark) check in
        # as before, on the same chain.
        found.lifecycle = Lifecycle("reinstall", row.app_version)
    if row.superseded_by is not None:
        found.twin_of = row.superseded_by
    return found


def _moves(row: DeviceRow, inp: CheckInput, token: Token, product: CheckProductRow) -> bool:
    """Whether a ``POST /v1/move`` moves the installation to ``inp.data_path`` (False: it is there already).

    Only the live state moves, and only on its machine: a state copied into
    another folder without this call stays a copy.
    """
    if not inp.components or not inp.data_path:
        raise Refused(ApiError(ErrorCode.VALIDATION_ERROR, "a move sends the fingerprint with the new data_path"))
    if (row.data_path_hash or None) == inp.data_path:
        return False  # moved already (the answer was lost, and this is its retry): an ordinary check
    if token not in LIVE_TOKENS:
        raise Refused(ApiError(ErrorCode.STALE_TOKEN, "a move needs the installation's current token: check first"))
    if not matches(machine_components(row), inp.components, product.fingerprint_min_match):
        raise Refused(
            ApiError(ErrorCode.OTHER_MACHINE, "a move stays on the installation's machine; this is another computer")
        )
    return True


def _recognise(conn: sa.Connection, inp: CheckInput, product: CheckProductRow) -> Identity:
    """A caller without a credential: a new installation, on the machine its hardware names."""
    machine = find_machine(conn, product, inp.components)
    if machine is None:
        found = _create(conn, inp, product, _new_machine(conn, inp, product, inp.components))
        found.new_machine = True
        return found
    previous = conn.execute(
        sa.select(
            devices.c.id, devices.c.status, devices.c.status_reason, devices.c.clone_suspected, devices.c.app_version
        )
        .where(
            devices.c.machine_id == machine.id,
            devices.c.data_path_hash.is_not_distinct_from(inp.data_path),
            devices.c.external_id.is_(None),
        )
        # The lineage's latest (not replaced yet), then the newest.
        .order_by(devices.c.superseded_by.is_(None).desc(), devices.c.first_seen.desc(), devices.c.id.desc())
        .limit(1)
    ).first()
    found = _create(conn, inp, product, machine.id, previous=previous)
    if previous is not None:
        # The data folder was lost with the credential: the installation it replaces comes back as a new one.
        found.lifecycle = Lifecycle("reinstall", previous.app_version, {"replaces": previous.id})
    return found


def _new_machine(conn: sa.Connection, inp: CheckInput, product: CheckProductRow, components: dict[str, str]) -> str:
    """A computer seen for the first time: its trial starts now."""
    trial_end = inp.now + dt.timedelta(days=product.trial_days)
    return insert_machine(conn, product_id=product.id, components=components, trial_end=trial_end, now=inp.now)


def _create(
    conn: sa.Connection,
    inp: CheckInput,
    product: CheckProductRow,
    machine_id: str,
    *,
    previous: sa.Row[*tuple[Any, ...]] | None = None,
    copy_of: str | None = None,
) -> Identity:
    secret = secrets.token_urlsafe(32)
    status, reason, flagged = DeviceStatus.TRIAL.value, None, copy_of is not None
    if previous is not None:
        # Recognition restores what restricts the installation it replaces, never what it was granted.
        flagged = flagged or bool(previous.clone_suspected)
        if previous.status == DeviceStatus.BLOCKED.value and previous.status_reason == COPY_BLOCK_REASON:
            status, reason = previous.status, previous.status_reason
    values: dict[str, Any] = {
        "id": new_device_id(),
        "product_id": product.id,
        "machine_id": machine_id,
        "previous_id": previous.id if previous is not None else None,
        "external_id": inp.device_id,
        "data_path_hash": inp.data_path,
        "is_virtual": inp.virtual,
        "os_name": inp.os_name,
        "app_version": inp.app_version,
        "first_seen": inp.now,
        "last_seen": inp.now,
        "status": status,
        "status_reason": reason,
        "license_id": None,
        "activated_at": None,
        "secret_hash": sha256(secret),
        "token_hash": None,
        "prev_token_hash": None,
        "usage_count": 0,
        "clone_suspected": flagged,
        "facts": {},
    }
    conn.execute(devices.insert().values(**values))
    if previous is not None:
        conn.execute(devices.update().where(devices.c.id == previous.id).values(superseded_by=values["id"]))
        scope = current_scope(conn)
        known = scope.rows.get(("device", previous.id)) if scope is not None else None
        if known is not None:
            known["superseded_by"] = values["id"]
    row = DEVICE_BY_ID.first(conn, id=values["id"])
    if row is None:  # inserted just above, in this transaction
        raise RuntimeError(f"installation {values['id']} is missing after its insert")
    return Identity(row, Token.NEW, secret=secret, copy_of=copy_of)


def _copy(
    conn: sa.Connection,
    inp: CheckInput,
    product: CheckProductRow,
    note: Note,
    original: DeviceRow,
    *,
    reason: str,
    changed: list[str],
    flag: bool = True,
) -> Identity:
    """The state of ``original`` shows up elsewhere: the copy becomes an installation of its own.

    It joins the machine its hardware names (or a new one), holds no license,
    and both sides carry the evidence; ``original`` is flagged as copied unless
    ``flag`` is False (its live state moved to another computer: nothing of the
    original was copied, it keeps its flag as it was).
    """
    other_side = describe(conn, original)
    note(
        original.id,
        EventKind.CLONE_SUSPECTED,
        license_id=original.license_id,
        data={"reason": reason, "changed": changed, "other_side": other_side},
    )
    if flag:
        flag_copy(conn, current_scope(conn), original.id)
    machine = find_machine(conn, product, inp.components)
    machine_id = machine.id if machine is not None else _new_machine(conn, inp, product, inp.components)
    found = _create(conn, inp, product, machine_id, copy_of=original.id)
    # The copy's timeline starts with the evidence too.
    note(
        found.device.id,
        EventKind.CLONE_SUSPECTED,
        license_id=original.license_id,
        data={"reason": reason, "copy_of": original.id, "changed": changed, "other_side": other_side},
    )
    return found


def describe(conn: sa.Connection, device: DescribedDevice) -> dict[str, Any]:
    """What is known of an installation on the other side of a copy, for the evidence.

    Only runs when a copy is caught (never on an ordinary check): its stored
    client facts and the server facts of its latest ordinary event.
    """
    last = conn.execute(
        sa.select(events.c.server_facts)
        .where(events.c.device_id == device.id, events.c.kind != "clone_suspected")
        .order_by(events.c.id.desc())
        .limit(1)
    ).scalar_one_or_none()
    return {"facts": device.facts or {}, "last_seen": to_iso(device.last_seen), "server_facts": last or {}}
