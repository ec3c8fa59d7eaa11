"""The status of an installation: a pure function of its rows, the policy and the time.

This is where a reader of the status check starts. :func:`decide` is given
what was read (the installation's stored status, its machine's trial and
restriction, its license) and what happened in this check (an activation, a
deactivation, a copy caught), and returns a frozen :class:`Decision`: what to
store on the installation, and what the signed document says. No database,
no clock: tests call it directly.

Principle 1 of docs/design.md holds here: nothing the client says about its own
status is an input. The only way up is a license bound by ``claim_seat``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from licentia.core.status import ALLOWED_STATUSES, DeviceStatus, LicenseState, trial_status
from licentia.core.vocabulary import StatusReason
from licentia.server.policies.choices import OnClone

# The reason stored on an installation blocked because its state was copied
# (policy ``on_clone = block``): it stays blocked until the vendor lifts it.
COPY_BLOCK_REASON = StatusReason.CLONE_SUSPECTED.value


@dataclass(frozen=True, slots=True)
class Situation:
    """What a decision is made from (all of it read before, nothing of it written yet)."""

    now: dt.datetime
    stored_status: str
    stored_reason: str | None
    trial_end: dt.datetime | None  # the machine's
    restriction: str | None  # the vendor's block or suspension of the machine
    restriction_reason: str | None
    license_state: str | None  # None: no license bound (after this check's activation or deactivation)
    license_expires_at: dt.datetime | None = None
    deactivated: bool = False
    copy_caught: bool = False
    # Why this check made a copy an installation of its own, for its user (``moved_to_other_machine``).
    copy_reason: str | None = None
    on_clone: str = OnClone.FLAG
    virtual: bool = False
    allow_virtual_machines: bool = True


@dataclass(frozen=True, slots=True)
class Decision:
    status: str  # stored on the installation (lists and dashboards read it)
    reason: str | None
    drop_license: bool  # the license was revoked: the installation's seat goes
    effective: str  # what the signed document says
    effective_reason: str | None

    @property
    def allowed(self) -> bool:
        return self.effective in ALLOWED_STATUSES


def decide(s: Situation) -> Decision:
    copy_blocked = (s.stored_status == DeviceStatus.BLOCKED.value and s.stored_reason == COPY_BLOCK_REASON) or (
        s.copy_caught and s.on_clone == OnClone.BLOCK
    )
    drop_license = s.license_state == LicenseState.REVOKED.value
    licensed = s.license_state is not None and not drop_license

    if copy_blocked:
        status, reason = DeviceStatus.BLOCKED.value, COPY_BLOCK_REASON
    elif s.restriction:
        status, reason = s.restriction, s.restriction_reason or f"{s.restriction} by the vendor"
    elif licensed:
        status, reason = DeviceStatus.REGISTERED.value, None
    else:
        status = trial_status(s.trial_end, s.now).value
        if drop_license:
            reason = StatusReason.LICENSE_REVOKED.value
        elif s.deactivated:
            reason = StatusReason.DEACTIVATED.value
        elif s.copy_reason:
            reason = s.copy_reason
        else:
            # A reason given when the status was set ("trial extended") stays while the status does.
            reason = s.stored_reason if status == s.stored_status else None

    effective, effective_reason = status, reason
    if status == DeviceStatus.REGISTERED.value:
        # Not stored: reinstating or renewing the license restores the installation at once.
        if s.license_state == LicenseState.SUSPENDED.value:
            effective, effective_reason = DeviceStatus.SUSPENDED.value, StatusReason.LICENSE_SUSPENDED.value
        elif s.license_state == LicenseState.EXPIRED.value or (
            s.license_expires_at is not None and s.license_expires_at <= s.now
        ):
            effective, effective_reason = DeviceStatus.SUSPENDED.value, StatusReason.LICENSE_EXPIRED.value
    if s.virtual and not s.allow_virtual_machines and effective in ALLOWED_STATUSES:
        effective, effective_reason = DeviceStatus.BLOCKED.value, StatusReason.VIRTUAL_MACHINE.value
    return Decision(status, reason, drop_license, effective, effective_reason)
