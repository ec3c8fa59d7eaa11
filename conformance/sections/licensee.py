"""``licensee``: a verified status document, as the licensee, maintenance and release an application shows.

``customer`` is the licensee of an activated installation (``{"id": 42, "name": "Acme GmbH"}``):
an integer id (never a boolean) and the name the vendor gave, as text. ``maintenance`` says until
when the license gets updates and names the newer release it does not cover; ``latest_release``
follows the ``latest_release`` section's rule (``client.status.status_of``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from licentia.client.status import status_of
from licentia.core.clock import from_iso, to_iso
from sections.common import REGISTERED, T0, payload

LICENSE = {**REGISTERED["license"], "state": "active", "policy": "Pro", "kind": "perpetual"}
ACME = {"id": 42, "name": "Acme GmbH"}
MAINTENANCE = {"until": "2026-09-01T00:00:00Z", "newer_release": {"version": "3.0.0", "channel": "stable"}}
RELEASE = {"version": "2.4.1", "channel": "stable", "download_url": "https://downloads.example.com/my-app.dmg"}


def _licensed(customer: Any = ACME, **changes: Any) -> dict[str, Any]:
    return payload(**{**REGISTERED, "license": {**LICENSE, "customer": customer}, "maintenance": MAINTENANCE,
                      "latest_release": RELEASE, **changes})  # fmt: skip


def _inputs() -> list[tuple[str, dict[str, Any]]]:
    """(name, the verified status document)."""
    return [
        ("an activated installation", _licensed()),
        ("a name in other scripts", _licensed({"id": 7, "name": "\u00c5sa \u4e2d\u6587 \U0001f600"})),
        ("a name of null is empty", _licensed({"id": 7, "name": None})),
        ("no name is empty", _licensed({"id": 7})),
        ("a name that is not text is empty", _licensed({"id": 7, "name": ["Acme"]})),
        ("a number as the name is empty", _licensed({"id": 7, "name": 5})),
        ("extra fields of the customer are dropped", _licensed({**ACME, "email": "it@acme.example"})),
        ("the largest id", _licensed({"id": 9223372036854775807, "name": "Big"})),
        ("an id as text: no licensee", _licensed({"id": "42", "name": "Acme GmbH"})),
        ("an id of true: no licensee", _licensed({"id": True, "name": "Acme GmbH"})),
        ("no customer: no licensee", _licensed(None)),
        ("a customer that is not an object: no licensee", _licensed("Acme GmbH")),
        ("a trial: no licensee, no maintenance", payload()),
        ("maintenance without a newer release", _licensed(maintenance={"until": None, "newer_release": None})),
        ("maintenance fields of other types are null", _licensed(maintenance={"until": 5, "newer_release": "3.0"})),
        ("a newer release without a version is none", _licensed(maintenance={**MAINTENANCE,
                                                                            "newer_release": {"channel": "beta"}})),
        ("a newer release's unknown fields are dropped, its channel null when not text",
         _licensed(maintenance={"until": None, "newer_release": {"version": "3.0.0", "channel": 3, "x": 1}})),
        ("maintenance not an object", _licensed(maintenance=["2026-09-01T00:00:00Z"])),
        ("a release with a plain-http link", _licensed(latest_release={**RELEASE, "download_url": "http://x.example"})),
        ("a suspended license still names its licensee", _licensed(status="suspended", allowed=False,
                                                                   reason="license_suspended")),
    ]  # fmt: skip


def expected(case: dict[str, Any]) -> dict[str, Any]:
    status = status_of(case["payload"], from_iso(case["now"]), online=False)
    return {"customer": status.customer, "maintenance": status.maintenance, "latest_release": status.latest_release}


def cases() -> list[dict[str, Any]]:
    out = []
    for name, document in _inputs():
        case: dict[str, Any] = {"name": name, "payload": document, "now": to_iso(T0 + dt.timedelta(days=1))}
        case["expected"] = expected(case)
        out.append(case)
    return out
