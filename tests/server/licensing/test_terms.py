"""The pure rules of license types: overrides, sale terms, entitlements, releases within maintenance, seat release."""

from __future__ import annotations

import datetime as dt

import pytest

from licentia.core.clock import UTC
from licentia.server.errors import ApiError
from licentia.server.policies.knobs import check_complete, parse_setting, validate_entitlements, validate_knobs
from licentia.server.policies.terms import activation_expiry, effective, entitlements_at, frees_at, offer, sale_terms

NOW = dt.datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
POLICY = {
    "name": "Pro",
    "max_devices": 3,
    "expiry_mode": "perpetual",
    "expiry_days": None,
    "expiry_date": None,
    "maintenance_days": None,
    "entitlements": {"pdf": {"value": True, "expires_at": None}, "edition": {"value": "pro", "expires_at": None}},
    "meters": {},
}


def test_without_overrides_the_policy_itself_is_used():
    assert effective(POLICY, {}) is POLICY


def test_overrides_replace_knobs_and_merge_entitlements_by_name():
    merged = effective(POLICY, {"max_devices": 10, "entitlements": {"edition": None, "seats": {"value": 4}}})
    assert merged["max_devices"] == 10 and merged.max_devices == 10
    assert set(merged["entitlements"]) == {"pdf", "seats"}
    assert POLICY["max_devices"] == 3 and "edition" in POLICY["entitlements"]  # the shared policy is untouched


@pytest.mark.parametrize(
    ("mode", "knobs", "expires"),
    [
        ("perpetual", {}, None),
        ("fixed_date", {"expiry_date": "2026-12-31T00:00:00Z"}, dt.datetime(2026, 12, 31, tzinfo=UTC)),
        ("from_issue", {"expiry_days": 30}, NOW + dt.timedelta(days=30)),
        ("from_activation", {"expiry_days": 30}, None),
    ],
)
def test_the_sale_fixes_expiry_and_maintenance_at_issue(mode, knobs, expires):
    policy = {**POLICY, "expiry_mode": mode, "maintenance_days": 365, **knobs}
    assert sale_terms(policy, NOW) == (expires, NOW + dt.timedelta(days=365))


def test_a_first_activation_starts_the_clock_only_once():
    policy = {**POLICY, "expiry_mode": "from_activation", "expiry_days": 10}
    assert activation_expiry(policy, None, NOW) == NOW + dt.timedelta(days=10)
    assert activation_expiry(policy, NOW, NOW + dt.timedelta(days=3)) is None  # already fixed
    assert activation_expiry(POLICY, None, NOW) is None


def test_expired_entitlements_leave_the_document_and_features():
    policy = {
        **POLICY,
        "entitlements": {
            "pdf": {"value": True, "expires_at": "2026-03-01T12:00:00Z"},
            "sync": {"value": True, "expires_at": "2026-03-01T12:00:01Z"},
            "off": {"value": False, "expires_at": None},
            "limit": {"value": 5, "expires_at": None},
        },
    }
    entitlements, features = entitlements_at(policy, ["legacy"], "2026-03-01T12:00:00Z")
    assert set(entitlements) == {"sync", "off", "limit"} and features == ["legacy", "sync"]
    assert set(entitlements_at(policy, None, None)[0]) == {"pdf", "sync", "off", "limit"}


def test_entitlements_are_typed_and_named():
    assert validate_entitlements({"a": True, "b": 3, "c": "pro", "d": {"value": 1, "expires_at": "2027-01-01"}}) == {
        "a": {"value": True, "expires_at": None},
        "b": {"value": 3, "expires_at": None},
        "c": {"value": "pro", "expires_at": None},
        "d": {"value": 1, "expires_at": "2027-01-01T00:00:00Z"},
    }
    for bad in (
        {"a": 1.5},
        {"a": [1]},
        {"1a": True},
        {"a": 2**60},
        {"a": {"value": 1, "until": "x"}},
        {"a": "x" * 201},
    ):
        with pytest.raises(ApiError) as caught:
            validate_entitlements(bad)
        assert caught.value.code == "invalid_policy"


def test_knobs_are_checked_and_cross_checked():
    assert validate_knobs({"max_devices": 2, "kind": "floating", "maintenance_days": None}) == {
        "max_devices": 2,
        "kind": "floating",
        "maintenance_days": None,
    }
    for bad in ({"max_devices": 0}, {"max_devices": True}, {"kind": "site"}, {"nope": 1}, {"expiry_date": "soon"}):
        with pytest.raises(ApiError):
            validate_knobs(bad)
    with pytest.raises(ApiError, match="expiry_date"):
        check_complete({"expiry_mode": "fixed_date", "expiry_date": None})
    assert parse_setting('entitlements={"x": 1}') == ("entitlements", {"x": 1})
    assert parse_setting("maintenance_days=null") == ("maintenance_days", None)


def _release(version: str, day: int) -> dict[str, object]:
    return {"version": version, "channel": "stable", "released_at": NOW + dt.timedelta(days=day)}


def test_a_license_is_offered_the_newest_release_dated_within_its_maintenance():
    releases = [_release("3.0", 40), _release("2.0", 10), _release("1.0", -5)]  # newest version first
    assert offer(releases, None) == (releases[0], None)
    assert offer(releases, NOW + dt.timedelta(days=30)) == (releases[1], releases[0])
    assert offer(releases, NOW + dt.timedelta(days=40)) == (releases[0], None)  # released on the last day: covered
    assert offer(releases, NOW - dt.timedelta(days=10)) == (None, releases[0])
    assert offer([], NOW) == (None, None)


def test_a_seat_frees_after_the_period_or_never():
    assert frees_at(NOW, 30) == NOW + dt.timedelta(days=30)
    assert frees_at(NOW, 0) is None


def test_every_knob_is_documented():
    from pathlib import Path

    from licentia.server.policies.knobs import KNOB_NAMES

    text = (Path(__file__).parents[3] / "docs" / "licensing-models.md").read_text()
    assert [name for name in KNOB_NAMES if f"| `{name}` |" not in text] == []
