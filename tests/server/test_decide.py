"""The status decision as a pure function: rows, policy and time in, a frozen decision out (no database)."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from licentia.server.devices.decide import Situation, decide

NOW = dt.datetime(2026, 6, 1, 12, tzinfo=dt.UTC)
BASE = Situation(
    now=NOW,
    stored_status="trial",
    stored_reason=None,
    trial_end=NOW + dt.timedelta(days=3),
    restriction=None,
    restriction_reason=None,
    license_state=None,
)


def at(**changes):
    return decide(dataclasses.replace(BASE, **changes))


def test_a_trial_runs_until_the_machines_trial_end():
    assert at().effective == "trial" and at().allowed
    ended = at(now=NOW + dt.timedelta(days=3))
    assert ended.status == ended.effective == "trial_expired" and not ended.allowed


def test_a_license_registers_and_its_state_suspends_without_being_stored():
    assert at(license_state="active").effective == "registered"
    suspended = at(license_state="suspended")
    assert suspended.status == "registered" and suspended.effective == "suspended"
    expired = at(license_state="active", license_expires_at=NOW)
    assert expired.effective_reason == "license_expired"


def test_a_revoked_license_drops_the_seat_and_falls_back_to_the_trial():
    revoked = at(license_state="revoked", stored_status="registered", trial_end=NOW)
    assert revoked.drop_license and revoked.status == "trial_expired" and revoked.reason == "license_revoked"


@pytest.mark.parametrize("restriction", ["blocked", "suspended"])
def test_the_vendors_restriction_of_the_machine_beats_a_license(restriction):
    decision = at(restriction=restriction, license_state="active")
    assert decision.effective == restriction and not decision.allowed


def test_a_copy_is_blocked_only_under_on_clone_block_and_stays_blocked():
    assert at(copy_caught=True).allowed
    blocked = at(copy_caught=True, on_clone="block")
    assert blocked.status == "blocked" and blocked.reason == "clone_suspected"
    later = at(stored_status="blocked", stored_reason="clone_suspected", license_state="active")
    assert later.effective == "blocked"


def test_virtual_machines_are_refused_only_when_the_policy_says_so():
    assert at(virtual=True).allowed
    assert at(virtual=True, allow_virtual_machines=False).effective_reason == "virtual_machine"


def test_a_reason_given_with_a_status_stays_while_the_status_does():
    assert at(stored_reason="trial extended").reason == "trial extended"
    assert at(stored_reason="trial extended", now=NOW + dt.timedelta(days=4)).reason is None
    assert at(deactivated=True).reason == "deactivated"
