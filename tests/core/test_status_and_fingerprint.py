from __future__ import annotations

import datetime as dt

from licentia.core.clock import UTC, to_iso
from licentia.core.fingerprint import component_hash, matches
from licentia.core.status import judge

NOW = dt.datetime(2026, 3, 1, tzinfo=UTC)


def doc(**kw):
    base = {
        "status": "trial",
        "trial_end": to_iso(NOW + dt.timedelta(days=10)),
        "lease_until": to_iso(NOW + dt.timedelta(days=7)),
        "grace_days": 3,
        "features": [],
    }
    return {**base, **kw}


def test_trial_counts_days_left_and_ends():
    assert judge(doc(), NOW).days_left == 10
    ended = judge(doc(), NOW + dt.timedelta(days=10))
    assert not ended.allowed and ended.state == "trial_expired"


def test_lease_then_grace_then_denied():
    registered = doc(status="registered", trial_end=None, license={"expires_at": None})
    assert judge(registered, NOW + dt.timedelta(days=7)).state == "registered"
    grace = judge(registered, NOW + dt.timedelta(days=8))
    assert grace.allowed and grace.state == "grace" and grace.days_left == 2
    late = judge(registered, NOW + dt.timedelta(days=10, seconds=1))
    assert not late.allowed and late.reason == "lease_expired"


def test_license_expiry_denies():
    v = judge(doc(status="registered", license={"expires_at": to_iso(NOW)}), NOW)
    assert not v.allowed and v.reason == "license_expired"


def test_blocked_is_never_allowed():
    assert not judge(doc(status="blocked", reason="clone_suspected"), NOW).allowed


def h(name, raw):
    return component_hash("acme", name, raw)


def test_fingerprint_two_of_n_and_cpu_alone_is_not_identity():
    stored = {"machine": h("machine", "m"), "disk": h("disk", "d"), "cpu": h("cpu", "c"), "mac": h("mac", "n")}
    one_changed = {**stored, "disk": h("disk", "other")}
    two_changed = {**one_changed, "mac": h("mac", "other")}
    assert matches(stored, one_changed, 2)
    assert not matches(stored, two_changed, 2)
    assert matches(stored, two_changed, 1)  # a looser policy tolerates two changes
    assert not matches(stored, one_changed, 3)  # the strictest tolerates none
    assert not matches(stored, {"cpu": stored["cpu"]}, 2)


def test_containers_with_few_components_match_on_what_they_have():
    stored = {"machine": h("machine", "m"), "cpu": h("cpu", "c")}
    assert matches(stored, dict(stored), 2)
    assert matches(stored, {**stored, "cpu": h("cpu", "new")}, 2)


def test_hashes_are_per_product():
    assert component_hash("acme", "machine", "x") != component_hash("other", "machine", "x")


def test_the_plain_status_words_the_sdk_judges_by_are_the_enumerated_ones() -> None:
    """judge() reads plain text (no enum on an application's start); the server's names stay importable."""
    from licentia.core import status as rules
    from licentia.core.vocabulary import DeviceStatus, LicenseState

    assert (rules.TRIAL, rules.TRIAL_EXPIRED, rules.REGISTERED, rules.EXPIRED) == (
        DeviceStatus.TRIAL, DeviceStatus.TRIAL_EXPIRED, DeviceStatus.REGISTERED, LicenseState.EXPIRED,
    )  # fmt: skip
    assert rules.DeviceStatus is DeviceStatus and rules.LicenseState is LicenseState
    assert {DeviceStatus.TRIAL, DeviceStatus.REGISTERED} == rules.ALLOWED_STATUSES
    assert rules.trial_status(NOW, NOW) is DeviceStatus.TRIAL_EXPIRED
    assert judge(doc(), NOW) == rules.Verdict(True, "trial", None, 10, ())
