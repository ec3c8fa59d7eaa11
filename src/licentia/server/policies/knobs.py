"""Every knob of a license type (policy): its type, bounds, plain label and unit, and its validation.

One table (:data:`KNOBS`) feeds the validation of policies and of per-license
overrides, the admin UI's labels and the docs. Bad input raises
``ApiError(ErrorCode.INVALID_POLICY)`` naming the knob, so the CLI, the developer API
and the admin UI all tell the vendor the same thing.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from licentia.core.clock import UTC, to_iso
from licentia.server.errors import ApiError, ErrorCode
from licentia.server.policies.choices import COUNTING_DAYS, ExpiryMode, MeterPeriod, OnClone, SeatKind, SeatUnit

KINDS = tuple(SeatKind)
EXPIRY_MODES = tuple(ExpiryMode)
METER_PERIODS = tuple(MeterPeriod)
ENTITLEMENT_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,63}$")
MAX_ENTITLEMENTS = 100
MAX_METERS = 50
MAX_TEXT_VALUE = 200
# Integers travel through every client language: keep them exact in a JavaScript number.
MAX_SAFE_INTEGER = 2**53 - 1
NAME_MAX = 64


@dataclass(frozen=True, slots=True)
class Knob:
    name: str
    label: str
    kind: str  # "int" | "bool" | "choice" | "date" | "entitlements" | "meters"
    unit: str = ""
    low: int = 0
    high: int = 36500
    nullable: bool = False
    choices: tuple[str, ...] = ()
    help: str = ""
    # Read only from the product's default policy: it acts before any license is known.
    product_wide: bool = False


KNOBS: tuple[Knob, ...] = (
    Knob("kind", "Seats are", "choice", choices=KINDS, help="node-locked: a seat is a machine; floating: a lease"),
    Knob("max_devices", "Machines per license", "int", "machines", 1, 100_000, help="users, when seats are users"),
    Knob(
        "seat_unit",
        "A seat is",
        "choice",
        choices=tuple(SeatUnit),
        help="machine: activated with the key; user: a named person who signs in",
    ),
    Knob("machines_per_user", "Machines per user", "int", "machines", 1, 1000, help="when seats are users"),
    Knob("seat_release_days", "Free a seat unseen for", "int", "days", 0, help="0: never"),
    Knob("floating_lease_seconds", "Floating lease", "int", "seconds", 60, 7 * 86400),
    Knob("borrow_days", "Floating borrow up to", "int", "days", 0, 365, help="0: no borrowing"),
    Knob("expiry_mode", "Expires", "choice", choices=EXPIRY_MODES),
    Knob("expiry_date", "Expiry date (fixed date)", "date", nullable=True),
    Knob("expiry_days", "Expires after (from issue or first activation)", "int", "days", 1, nullable=True),
    Knob("maintenance_days", "Updates included for", "int", "days", 0, nullable=True, help="empty: every release"),
    Knob("lease_days", "Works offline for", "int", "days", 1),
    Knob("grace_days", "Then grace of", "int", "days", 0),
    Knob("usage_report_days", "Usage report every", "int", "days", 1, nullable=True, help="empty: trial days + 1"),
    Knob("on_clone", "When a copy is caught", "choice", choices=tuple(OnClone)),
    Knob("allow_virtual_machines", "Runs in virtual machines", "bool"),
    Knob("transfer_limit", "Machine transfers allowed", "int", "transfers", 0, 1000, nullable=True),
    Knob("transfer_period_days", "Transfers counted over", "int", "days", 1),
    Knob("entitlements", "Entitlements", "entitlements"),
    Knob("meters", "Meters", "meters"),
    Knob("trial_days", "Trial length (machines without a license)", "int", "days", 0, product_wide=True),
    Knob("fingerprint_min_match", "Hardware components that must match", "int", "components", 1, 4, product_wide=True),
)
BY_NAME = {knob.name: knob for knob in KNOBS}
KNOB_NAMES = tuple(BY_NAME)


def invalid(message: str) -> ApiError:
    return ApiError(ErrorCode.INVALID_POLICY, message)


def _printable(text: str) -> bool:
    # PostgreSQL refuses NUL in text and JSON: refuse control characters before they reach it.
    return all(ch >= " " and ch != "\x7f" for ch in text)


def validate_name(name: Any) -> str:
    if not isinstance(name, str) or not name.strip() or len(name.strip()) > NAME_MAX or not _printable(name):
        raise invalid(f"a policy name is 1-{NAME_MAX} printable characters")
    return name.strip()


def validate_knobs(values: dict[str, Any]) -> dict[str, Any]:
    """The knobs of ``values`` checked and normalised (dates as ISO ``Z`` text in JSON, aware otherwise)."""
    if not isinstance(values, dict):
        raise invalid("policy settings are an object of knob: value")
    clean: dict[str, Any] = {}
    for name, value in values.items():
        knob = BY_NAME.get(name)
        if knob is None:
            raise invalid(f"unknown policy setting {name!r} (known: {', '.join(KNOB_NAMES)})")
        clean[name] = _check(knob, value)
    return clean


def _check(knob: Knob, value: Any) -> Any:
    name = knob.name
    if value is None and knob.nullable:
        return None
    if knob.kind == "bool":
        if not isinstance(value, bool):
            raise invalid(f"{name} must be true or false")
        return value
    if knob.kind == "choice":
        if value not in knob.choices:
            raise invalid(f"{name} must be one of {', '.join(knob.choices)}")
        return value
    if knob.kind == "date":
        return parse_when(value, name)
    if knob.kind == "entitlements":
        return validate_entitlements(value)
    if knob.kind == "meters":
        return validate_meters(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise invalid(f"{name} must be a whole number" + (" or null" if knob.nullable else ""))
    if not knob.low <= value <= knob.high:
        raise invalid(f"{name} must be between {knob.low} and {knob.high}")
    return value


def parse_when(value: Any, name: str) -> dt.datetime:
    if isinstance(value, dt.datetime):
        when = value
    elif isinstance(value, str):
        try:
            when = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError as exc:
            raise invalid(f"{name} must be a date (YYYY-MM-DD) or a date and time") from exc
    else:
        raise invalid(f"{name} must be a date (YYYY-MM-DD) or a date and time")
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def _by_name(value: Any, what: str, most: int, shape: str, entry_of: Callable[[str, Any], Any]) -> dict[str, Any]:
    """A map of ``what`` (entitlements, meters) by name, each entry stored as ``entry_of(name, entry)`` makes it.

    A ``None`` entry stays ``None``: it removes the license type's own (in a license's overrides).
    """
    if not isinstance(value, dict):
        raise invalid(f"{what}s are an object of {shape}")
    if len(value) > most:
        raise invalid(f"at most {most} {what}s")
    clean: dict[str, Any] = {}
    for name, entry in value.items():
        if not isinstance(name, str) or not ENTITLEMENT_NAME.match(name):
            raise invalid(f"{what} name {name!r}: a letter, then letters, digits, '_', '.', '-' (at most 64)")
        clean[name] = None if entry is None else entry_of(name, entry)
    return clean


def validate_entitlements(value: Any) -> dict[str, Any]:
    """``{name: value}`` or ``{name: {"value": v, "expires_at": when}}`` -> the stored form.

    Stored form: ``{name: {"value": v, "expires_at": "2027-01-01T00:00:00Z" | None}}``;
    a value is true/false, a whole number or a short text. ``None`` as an
    entry removes a policy's entitlement (in a license's overrides).
    """
    return _by_name(value, "entitlement", MAX_ENTITLEMENTS, "name: value", _entitlement)


def _entitlement(name: str, entry: Any) -> dict[str, Any]:
    expires = None
    if isinstance(entry, dict):
        unknown = set(entry) - {"value", "expires_at"}
        if unknown or "value" not in entry:
            raise invalid(f"entitlement {name}: give {{'value': ..., 'expires_at': optional date}}")
        expires = entry.get("expires_at")
        entry = entry["value"]
    if isinstance(entry, bool):
        pass
    elif isinstance(entry, int):
        if abs(entry) > MAX_SAFE_INTEGER:
            raise invalid(f"entitlement {name}: the number is too large")
    elif isinstance(entry, str):
        if len(entry) > MAX_TEXT_VALUE or not _printable(entry):
            raise invalid(f"entitlement {name}: printable text of at most {MAX_TEXT_VALUE} characters")
    else:
        raise invalid(f"entitlement {name}: the value is true/false, a whole number or a text")
    return {"value": entry, "expires_at": to_iso(parse_when(expires, name)) if expires else None}


def validate_meters(value: Any) -> dict[str, Any]:
    """``{name: {"limit": 1000, "period": "month"}}``: definitions; consumption is counted elsewhere."""
    return _by_name(value, "meter", MAX_METERS, "name: {limit, period}", _meter)


def _meter(name: str, entry: Any) -> dict[str, Any]:
    if not isinstance(entry, dict) or set(entry) - {"limit", "period"} or "limit" not in entry:
        raise invalid(f"meter {name}: give {{'limit': number, 'period': {'|'.join(METER_PERIODS)}}}")
    limit, period = entry["limit"], entry.get("period", MeterPeriod.MONTH.value)
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_SAFE_INTEGER:
        raise invalid(f"meter {name}: the limit is a whole number of at least 1")
    if period not in METER_PERIODS:
        raise invalid(f"meter {name}: the period is one of {', '.join(METER_PERIODS)}")
    return {"limit": limit, "period": period}


def check_complete(policy: dict[str, Any]) -> None:
    """Rules across knobs, on a whole policy (after overrides): an expiry mode needs its date or days,
    user seats are node-locked."""
    if policy.get("seat_unit") == SeatUnit.USER and policy.get("kind") == SeatKind.FLOATING:
        raise invalid("seat_unit user needs kind node_locked (a floating seat is a lease, not a person)")
    mode = policy.get("expiry_mode", ExpiryMode.PERPETUAL)
    if mode == ExpiryMode.FIXED_DATE and policy.get("expiry_date") is None:
        raise invalid("expiry_mode fixed_date needs expiry_date")
    if mode in COUNTING_DAYS and not policy.get("expiry_days"):
        raise invalid(f"expiry_mode {mode} needs expiry_days")


def parse_setting(text: str) -> tuple[str, Any]:
    """``knob=value`` as typed in a shell (CLI ``--set``): numbers, true/false, null, JSON objects, text."""
    import json

    name, sep, raw = text.partition("=")
    name = name.strip()
    if not sep or not name:
        raise invalid(f"--set takes KNOB=VALUE, got {text!r}")
    raw = raw.strip()
    knob = BY_NAME.get(name)
    if knob is not None and knob.kind in ("entitlements", "meters"):
        try:
            return name, json.loads(raw)
        except ValueError as exc:
            raise invalid(f"{name} takes a JSON object, e.g. '{{\"max_projects\": 10}}'") from exc
    lowered = raw.lower()
    if lowered in ("true", "false"):
        return name, lowered == "true"
    if lowered in ("none", "null", ""):
        return name, None
    try:
        return name, int(raw)
    except ValueError:
        return name, raw
