"""``proxy_trail``: the GETs of Hitek's proxy-log trail, and the one-time usage report's rule.

``targets`` cases: given a product, a mode, an event id and the fields an event carries (its
facts and ``version``, in any order, some that must never be sent), the request targets
(``/v1/trail?...``) a client sends, in order (``licentia.core.trail.trail_targets``).
``usage_once`` cases: whether a registered installation reports ``usage`` at this online check
when its document says ``usage_report_once`` (``licentia.client.trail.usage_due``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from licentia.client.trail import usage_due
from licentia.core.clock import from_iso, to_iso
from licentia.core.facts import FACT_NAMES
from licentia.core.trail import trail_targets
from sections.common import PRODUCT, T0

EVENT_ID = "3f1c9e0a6b2d4c5881d0e2f4a6b8c0d2"
SMALL = {"version": "2.1.0", "computer_name": "LAB-7", "user_name": "Ann Smith", "os_name": "Linux"}
# Every character a query must escape: spaces, &, =, %, +, /, ?, #, quotes, a tab, a line break, non-ASCII.
AWKWARD = {
    "version": "2.1.0+build 7",
    "user_name": "Zoë O'Brien & Co = 100% +1",
    "domain": "ÉCOLE/NORD?x#y",
    "registered_owner": "Tab\there\r\nnew line",
    "tracker_1": "~-._ unreserved",
    "author_1": "日本語のテキスト",
    "local_time": "2026-01-05T10:00:00+01:00",
}
# Never in a trail: the license key, the credential, event data, names outside the contract.
NEVER = {"key": "ABCDE-FGHIJ-KLMNO-PQRST-UVWXY", "credential": "dev_1:secret", "secret": "s3cr3t",
         "app_version": "9.9", "key_prefix": "ABCDE", "author_11": "too many", "Computer_Name": "case"}  # fmt: skip


_HEAD = f"/v1/trail?p={PRODUCT}&m=install&i={EVENT_ID}&n=1"


def _every_field(length: int) -> dict[str, str]:
    names = ["version", *FACT_NAMES, *(f"author_{n}" for n in range(1, 11)), *(f"tracker_{n}" for n in range(1, 11))]
    return {name: f"{name}:" + "v" * length for name in names}


def _targets_inputs() -> list[tuple[str, str, dict[str, Any]]]:
    shuffled = dict(reversed(list({**SMALL, "tracker_2": "t2", "author_10": "a10"}.items())))
    return [
        ("small_one_part", "install", SMALL),
        ("register_mode", "register", {"version": "2.1.0", "user_name": "ann"}),
        ("fields_in_any_order_are_written_in_the_contracts_order", "usage", shuffled),
        ("escaping_rfc3986_utf8", "usage", AWKWARD),
        ("empty_and_missing_values_are_skipped", "install", {"version": "", "user_name": "ann", "domain": ""}),
        ("no_fields_at_all", "install", {}),
        ("never_a_key_credential_or_unknown_name", "register", {**NEVER, "user_name": "ann"}),
        ("three_parts", "usage", _every_field(100)),
        ("many_parts", "usage", _every_field(400)),
        ("a_field_longer_than_a_part_is_cut", "usage", {"version": "1", "tracker_1": "x" * 3000, "tracker_2": "y"}),
        ("a_multibyte_field_cut_at_a_character_boundary", "usage", {"author_1": "€" * 800, "author_2": "z"}),
        # The head, "&tracker_1=" and "&end=1" with the value: exactly 2000 bytes, then one more (cut back to 2000).
        ("a_field_that_just_fits", "install", {"tracker_1": "f" * (2000 - len(_HEAD) - 11 - 6)}),
        ("a_field_one_byte_over", "install", {"tracker_1": "f" * (2000 - len(_HEAD) - 11 - 5), "tracker_2": "g"}),
    ]


def _usage_inputs() -> list[tuple[str, Any, dt.datetime, Any, str | None]]:
    registered = to_iso(T0)
    day = dt.timedelta(days=1)
    return [
        ("before_the_days_have_passed", registered, T0 + 30 * day, 31, None),
        ("exactly_the_days_after_registration", registered, T0 + 31 * day, 31, None),
        ("long_after_registration", registered, T0 + 400 * day, 31, None),
        ("already_reported_never_again", registered, T0 + 400 * day, 31, to_iso(T0 + 31 * day)),
        ("reported_before_the_option_was_turned_on", registered, T0 + 40 * day, 31, to_iso(T0 + day)),
        ("no_registration_time", None, T0 + 400 * day, 31, None),
        ("an_unreadable_registration_time", "yesterday", T0 + 400 * day, 31, None),
        ("a_registration_time_that_is_not_text", 1767600000, T0 + 400 * day, 31, None),
        ("a_clock_behind_the_registration", registered, T0 - day, 31, None),
        ("days_not_an_integer_count_as_one", registered, T0 + day, "31", None),
        ("days_zero_count_as_one", registered, T0 + day - dt.timedelta(seconds=1), 0, None),
        ("days_true_count_as_one", registered, T0 + day, True, None),
    ]


def expected(case: dict[str, Any]) -> dict[str, Any]:
    """What the Python SDK sends (``targets``) or decides (``usage_once``)."""
    if case["kind"] == "targets":
        return {"targets": trail_targets(case["product"], case["mode"], case["event_id"], case["fields"])}
    payload = {"usage_report_once": True, "usage_report_days": case["usage_report_days"]}
    if case["registered_at"] is not None:
        payload["registered_at"] = case["registered_at"]
    return {"send": usage_due(payload, case["last_usage_report"], from_iso(case["now"]))}


def cases() -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for name, mode, fields in _targets_inputs():
        case = {"name": name, "kind": "targets", "product": PRODUCT, "mode": mode, "event_id": EVENT_ID,
                "fields": fields}  # fmt: skip
        out.append({**case, "expected": expected(case)})
    for name, registered_at, now, days, last in _usage_inputs():
        case = {"name": name, "kind": "usage_once", "registered_at": registered_at, "now": to_iso(now),
                "usage_report_days": days, "last_usage_report": last}  # fmt: skip
        out.append({**case, "expected": expected(case)})
    return out
