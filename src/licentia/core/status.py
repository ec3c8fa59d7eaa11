"""Status rules shared by the server and the SDK.

The server decides a device's status; the SDK re-applies the same rules to the
last signed document when it is offline, so both sides agree on when a trial
ends, how long a lease lasts and when grace runs out.
"""

from __future__ import annotations

from licentia.core.clock import from_iso, timedelta

TYPE_CHECKING = False  # typing is not imported: it would cost every application's start
if TYPE_CHECKING:
    import datetime as dt
    from collections.abc import Mapping
    from typing import Any

    from licentia.core.vocabulary import DeviceStatus, LicenseState

__all__ = [
    "ALLOWED_STATUSES",
    "DEFAULT_ROLLBACK_TOLERANCE",
    "DeviceStatus",
    "LicenseState",
    "Verdict",
    "days_until",
    "judge",
    "trial_status",
]

# The values of DeviceStatus and LicenseState that judge() reads: plain text, so the SDK's
# start (which judges a document) does not import ``enum`` (tests hold them to the enums).
TRIAL, TRIAL_EXPIRED, REGISTERED = "trial", "trial_expired", "registered"
EXPIRED = "expired"
ALLOWED_STATUSES = frozenset({TRIAL, REGISTERED})
# How far the local clock may run behind the last time the SDK saw it before
# the SDK treats it as wound back (to stretch a trial or a lease).
DEFAULT_ROLLBACK_TOLERANCE = timedelta(hours=2)


def __getattr__(name: str) -> object:
    # The server's names for the statuses, loaded when it asks: enum costs the SDK's start.
    if name in ("DeviceStatus", "LicenseState"):
        from licentia.core import vocabulary

        found: object = getattr(vocabulary, name)
        globals()[name] = found
        return found
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class Verdict:
    """What a status document means at a given moment (immutable by convention, compared by value).

    A plain class, not a dataclass nor a ``typing.NamedTuple``: the SDK judges
    documents at every application's start, and ``dataclasses`` costs that
    start as much as Python's own, ``typing`` a fifth of it.
    """

    __slots__ = ("allowed", "days_left", "features", "reason", "state")

    def __init__(
        self,
        allowed: bool,
        state: str,
        reason: str | None = None,
        days_left: int | None = None,
        features: tuple[str, ...] = (),
    ) -> None:
        self.allowed = allowed
        self.state = state
        self.reason = reason
        self.days_left = days_left
        self.features = features

    def _fields(self) -> tuple[object, ...]:
        return (self.allowed, self.state, self.reason, self.days_left, self.features)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Verdict) and self._fields() == other._fields()

    def __hash__(self) -> int:
        return hash(self._fields())

    def __repr__(self) -> str:
        return "Verdict(allowed={!r}, state={!r}, reason={!r}, days_left={!r}, features={!r})".format(*self._fields())


def days_until(end: dt.datetime, now: dt.datetime) -> int:
    """Whole days left, counting a started day (0 once ``end`` has passed)."""
    seconds = (end - now).total_seconds()
    if seconds <= 0:
        return 0
    return int(-(-seconds // 86400))


def trial_status(trial_end: dt.datetime | None, now: dt.datetime) -> DeviceStatus:
    trial, expired = _TRIAL_STATUSES or _trial_statuses()
    if trial_end is not None and now >= trial_end:
        return expired
    return trial


# (TRIAL, TRIAL_EXPIRED) as enum members, for the server (a status check asks once per request):
# loaded at the first call, not with the module, so the SDK's start never imports ``enum``.
_TRIAL_STATUSES: tuple[DeviceStatus, DeviceStatus] | None = None


def _trial_statuses() -> tuple[DeviceStatus, DeviceStatus]:
    global _TRIAL_STATUSES
    from licentia.core.vocabulary import DeviceStatus

    _TRIAL_STATUSES = (DeviceStatus.TRIAL, DeviceStatus.TRIAL_EXPIRED)
    return _TRIAL_STATUSES


def judge(payload: Mapping[str, Any], now: dt.datetime) -> Verdict:
    """Apply the status rules to a (verified) document payload at ``now``.

    Used online right after the server answered and offline on the stored copy:
    a trial ends at ``trial_end``, a license at its expiry, and the document
    itself is trusted until ``lease_until`` and then for ``grace_days`` more.
    """
    status = str(payload.get("status"))
    features = tuple(str(f) for f in payload.get("features") or ())
    reason = payload.get("reason")
    lease_until = from_iso(str(payload["lease_until"]))
    grace_days = int(payload.get("grace_days") or 0)

    if status == TRIAL:
        end = payload.get("trial_end")
        trial_end = from_iso(str(end)) if end else None
        if trial_end is not None and now >= trial_end:  # trial_status(), in the SDK's words
            return Verdict(False, TRIAL_EXPIRED, "trial_ended", 0)
        base = Verdict(True, status, None, days_until(trial_end, now) if trial_end else None, features)
    elif status == REGISTERED:
        lic = payload.get("license") or {}
        expires = lic.get("expires_at")
        if expires and now >= from_iso(str(expires)):
            return Verdict(False, EXPIRED, "license_expired", 0)
        days = days_until(from_iso(str(expires)), now) if expires else None
        base = Verdict(True, status, None, days, features)
    else:
        return Verdict(False, status, str(reason) if reason else status, 0)

    if now <= lease_until:
        return base
    grace_end = lease_until + timedelta(days=grace_days)
    if now <= grace_end:
        return Verdict(True, "grace", "lease_expired", days_until(grace_end, now), features)
    return Verdict(False, "lease_expired", "lease_expired", 0)
