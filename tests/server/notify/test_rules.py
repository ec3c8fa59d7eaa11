"""Pure parts: which events notify, per-product switches, signatures (no database needed)."""

from __future__ import annotations

import datetime as dt

import pytest

from licentia.core.clock import UTC
from licentia.server.notify.rules import NotifyRules
from licentia.server.notify.signature import InvalidSignature, sign, verify_signature
from licentia.server.notify.subscriptions import dedupe_key, on_event, topic_of

NOW = dt.datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("kind", "data", "topic"),
    [
        ("install", {}, "install"),
        ("uninstall", {}, "uninstall"),
        ("feedback", {"text": "hi"}, "feedback"),
        ("register", {"result": "activated"}, "register"),
        ("register", {"result": "too_many_devices"}, "piracy"),
        ("clone_suspected", {}, "piracy"),
        ("invalid_key", {"reason": "format"}, "piracy"),
        ("check", {}, None),
        ("usage", {}, None),
        ("upgrade", {}, None),
        ("hardware_changed", {}, None),
        ("deactivate", {}, None),
    ],
)
def test_topic_of_event(kind, data, topic):
    assert topic_of({"kind": kind, "data": data}) == topic


class NoQueries:
    """A connection that fails the test if the hook touches the database."""

    def __getattr__(self, name):
        raise AssertionError(f"the hook used the connection ({name}) for a quiet event")


@pytest.mark.parametrize("kind", ["check", "usage", "upgrade", "hardware_changed"])
def test_quiet_events_return_before_any_query(kind):
    on_event(NoQueries(), {"kind": kind, "product_id": 1, "data": {}})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "notify",
    [None, [], "on", {"emails": "ops@x.example"}, {"emails": [1, None]}, {"on": {"install": True}}],
)
def test_malformed_or_missing_settings_mean_off(notify):
    rules = NotifyRules.parse(name="A", slug="a", notify=notify, hooks=())
    assert all(not rules.emails_for(t) for t in ("install", "uninstall", "feedback", "register", "piracy"))


def test_switches_default_on_with_emails_and_can_be_turned_off():
    rules = NotifyRules.parse(
        name="A", slug="a", notify={"emails": ["ops@x.example"], "on": {"piracy": False, "install": "yes"}}, hooks=()
    )
    assert rules.emails_for("uninstall") == ("ops@x.example",)
    assert rules.emails_for("install") == ("ops@x.example",)
    assert rules.emails_for("piracy") == ()


def test_dedupe_keys_group_piracy_per_device_and_day():
    def event(event_id: int, kind: str, **data: str) -> dict:
        return {"id": event_id, "kind": kind, "product_id": 1, "device_id": "dv_1", "received_at": NOW, "data": data}

    tries = [event(1, "invalid_key", key_prefix="AAAAA"), event(2, "invalid_key", key_prefix="BBBBB")]
    assert dedupe_key("piracy", tries[0]) == dedupe_key("piracy", tries[1])
    over_limit = event(3, "register", result="too_many_devices", key_prefix="CCCCC")
    assert dedupe_key("piracy", over_limit) != dedupe_key("piracy", tries[0])
    assert dedupe_key("install", event(4, "install")) != dedupe_key("install", event(5, "install"))


def test_signature_round_trip_and_refusals():
    body = b'{"id":"msg_1"}'
    header = sign("whsec_a", body, at=NOW)
    verify_signature(body, header, "whsec_a", at=NOW + dt.timedelta(seconds=60))
    verify_signature(body, header, ["whsec_new", "whsec_a"], at=NOW)  # during a secret rotation
    refusals = [
        (body + b" ", header, "whsec_a", NOW),  # body changed
        (body, header, "whsec_b", NOW),  # another secret
        (body, header, "whsec_a", NOW + dt.timedelta(minutes=6)),  # replayed later
        (body, "v1=" + header.split("v1=")[1], "whsec_a", NOW),  # no timestamp
        (body, "t=abc,v1=00", "whsec_a", NOW),
        (body, header, [], NOW),
    ]
    for args in refusals:
        with pytest.raises(InvalidSignature):
            verify_signature(args[0], args[1], args[2], at=args[3])
