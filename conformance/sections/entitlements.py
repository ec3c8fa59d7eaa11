"""``entitlements``: a verified status document at a time, as the typed entitlements an application reads.

A license type's entitlements are typed values (``export_pdf: true``, ``max_projects: 10``,
``edition: "pro"``), each with an optional expiry. In force: those of an allowed status whose value
is a boolean, an integer or a string and whose expiry is after the time the status is judged at; a
document of an older server (no ``entitlements``) gives its ``features`` as true booleans
(``client.status.status_of``, ``Status.entitlement`` and ``has_feature``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from licentia.client.status import status_of
from licentia.core.clock import from_iso, to_iso
from sections.common import REGISTERED, T0, payload

DAY = dt.timedelta(days=1)
ENTITLEMENTS = {
    "export_pdf": {"value": True},
    "watermark": {"value": False},
    "max_projects": {"value": 10},
    "max_seats": {"value": 9223372036854775807},
    "edition": {"value": "pro"},
    "beta_channel": {"value": True, "expires_at": to_iso(T0 + 10 * DAY)},
    "launch_offer": {"value": "50%", "expires_at": to_iso(T0 - DAY)},
}
# (name, default) asked of ``entitlement``; every name is also asked of ``has_feature``.
QUERIES: list[list[Any]] = [
    ["export_pdf", False], ["watermark", True], ["max_projects", 1], ["max_seats", 0], ["edition", "basic"],
    ["beta_channel", False], ["launch_offer", None], ["unknown", None], ["unknown", 3], ["pro", False],
    ["Export_PDF", False],
]  # fmt: skip


def _registered(**changes: Any) -> dict[str, Any]:
    # As the server signs it: ``features`` holds the license's feature names and the true booleans.
    features = ["beta_channel", "export", "export_pdf", "pro"]
    return payload(**{**REGISTERED, "features": features, "entitlements": ENTITLEMENTS, **changes})


def _inputs() -> list[tuple[str, dict[str, Any], dt.datetime]]:
    """(name, the verified status document, the time it is judged at)."""
    odd = {
        "a_null": {"value": None}, "a_list": {"value": ["a"]}, "an_object": {"value": {"a": 1}},
        "bare_value": True, "no_value": {"expires_at": None}, "null_expiry": {"value": 3, "expires_at": None},
        "bad_expiry": {"value": True, "expires_at": "next week"}, "number_expiry": {"value": True, "expires_at": 5},
        "negative": {"value": -2}, "empty_text": {"value": ""}, "zero": {"value": 0},
        "non_ascii": {"value": "\u00e9dition \u4e2d\u6587"},
    }  # fmt: skip
    return [
        ("registered, typed values in force", _registered(), T0 + DAY),
        ("an entitlement expiring at this second is gone", _registered(), T0 + 10 * DAY),
        ("an entitlement a second before its expiry", _registered(), T0 + 10 * DAY - dt.timedelta(seconds=1)),
        ("values of other types and unreadable expiries are left out", _registered(entitlements=odd), T0 + DAY),
        ("an older server's document: features as true booleans", payload(**REGISTERED), T0 + DAY),
        ("entitlements not an object: features as true booleans", _registered(entitlements=["pro"]), T0 + DAY),
        ("an empty entitlements object: none in force, features still answer", _registered(entitlements={}),
         T0 + DAY),
        ("a trial without features", payload(entitlements={}), T0 + DAY),
        ("suspended: nothing in force", _registered(status="suspended", allowed=False, reason="license_suspended"),
         T0 + DAY),
        ("lease ended, inside grace: still in force", _registered(), T0 + 10 * DAY - dt.timedelta(seconds=1)),
        ("grace over: nothing in force", _registered(), T0 + 15 * DAY),
    ]  # fmt: skip


def expected(case: dict[str, Any]) -> dict[str, Any]:
    status = status_of(case["payload"], from_iso(case["now"]), online=False)
    return {
        "allowed": status.allowed,
        "entitlements": dict(status.entitlements),
        "features": list(status.features),
        "has_feature": {name: status.has_feature(name) for name, _ in case["queries"]},
        "entitlement": [[name, default, status.entitlement(name, default)] for name, default in case["queries"]],
    }


def cases() -> list[dict[str, Any]]:
    out = []
    for name, document, now in _inputs():
        case: dict[str, Any] = {"name": name, "payload": document, "now": to_iso(now), "queries": QUERIES}
        case["expected"] = expected(case)
        out.append(case)
    return out
