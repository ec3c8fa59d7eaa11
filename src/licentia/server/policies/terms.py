"""What a license may do, from its policy, its overrides and the time: pure functions, no database.

Two kinds of terms (docs/licensing-models.md):

- *live* terms are read from the policy at every check (machines allowed,
  seat release, lease and grace, clone handling, entitlements, meters): a
  change to the policy reaches every license of it within the product cache's
  lifetime;
- the *sale's* terms are fixed on the license when it is issued (its expiry
  date and the end of its maintenance), so that editing a policy never
  shortens or lengthens what a customer already bought. They change per
  license (renew, ``maintenance_until``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol, TypeVar, cast

from licentia.server.policies.choices import ExpiryMode
from licentia.server.policies.knobs import BY_NAME, parse_when
from licentia.server.store.raw import Record

MERGED_BY_NAME = ("entitlements", "meters")


class Knobs(Protocol):
    """A policy's knobs by name: a policy row (a ``store.raw.Record``, read by the status check) or a plain dict."""

    def keys(self) -> Iterable[str]: ...
    def __getitem__(self, name: str, /) -> Any: ...
    def get(self, name: str, /) -> Any: ...


K = TypeVar("K", bound=Knobs)


def effective(policy: K, overrides: Mapping[str, Any] | None) -> K:
    """The policy with a license's overrides applied: single knobs replace, entitlements and meters merge by name.

    With no overrides (the usual case) the policy itself is returned: the hot
    path allocates nothing. Merged, it is a ``Record``: a dict, with the
    policy's columns as attributes, so it stands for a row or a dict alike.
    """
    if not overrides:
        return policy
    merged = Record(policy)
    for name, value in overrides.items():
        if name in MERGED_BY_NAME:
            combined = dict(policy.get(name) or {})
            for key, entry in (value or {}).items():
                if entry is None:
                    combined.pop(key, None)  # the license drops the policy's entitlement
                else:
                    combined[key] = entry
            merged[name] = combined
        elif name in BY_NAME:
            merged[name] = value
    return cast(K, merged)


def sale_terms(policy: Knobs, now: dt.datetime) -> tuple[dt.datetime | None, dt.datetime | None]:
    """``(expires_at, maintenance_until)`` written on a license issued ``now`` under ``policy``.

    ``from_activation`` leaves the expiry open until the first activation
    (:func:`activation_expiry`); ``maintenance_days`` None means every release.
    """
    mode = policy.get("expiry_mode") or ExpiryMode.PERPETUAL
    expires_at: dt.datetime | None = None
    if mode == ExpiryMode.FIXED_DATE and policy.get("expiry_date") is not None:
        expires_at = parse_when(policy["expiry_date"], "expiry_date")
    elif mode == ExpiryMode.FROM_ISSUE and policy.get("expiry_days"):
        expires_at = now + dt.timedelta(days=int(policy["expiry_days"]))
    days = policy.get("maintenance_days")
    return expires_at, (now + dt.timedelta(days=int(days)) if days is not None else None)


def activation_expiry(policy: Knobs, license_expires_at: dt.datetime | None, now: dt.datetime) -> Any:
    """The expiry a first activation ``now`` fixes, or None when the license's expiry stays as it is."""
    if policy.get("expiry_mode") != ExpiryMode.FROM_ACTIVATION or license_expires_at is not None:
        return None
    days = policy.get("expiry_days")
    return now + dt.timedelta(days=int(days)) if days else None


def entitlements_at(
    policy: Knobs, legacy_features: Iterable[str] | None, now_iso: str | None
) -> tuple[dict[str, Any], list[str]]:
    """The ``entitlements`` object and the ``features`` list of a signed document issued at ``now_iso``.

    An entitlement whose expiry has passed is left out. ``features`` keeps
    what SDKs read before entitlements existed: the license's own feature
    names plus every boolean entitlement that is true. Expiries are stored as
    ``to_iso`` text, so comparing the text compares the instants. Without
    ``now_iso`` nothing is left out (a vendor's view of the configuration).
    """
    entitlements: dict[str, Any] = {}
    features = set(legacy_features or ())
    for name, entry in (policy.get("entitlements") or {}).items():
        expires = entry.get("expires_at")
        if expires is not None and now_iso is not None and expires <= now_iso:
            continue
        entitlements[name] = entry
        if entry.get("value") is True:
            features.add(name)
    return entitlements, sorted(features)


def offer(
    releases: Sequence[Mapping[str, Any]], maintenance_until: dt.datetime | None
) -> tuple[Mapping[str, Any] | None, Mapping[str, Any] | None]:
    """``(newest entitled, newest beyond maintenance)`` of ``releases`` (newest version first).

    A release dated after the license's maintenance ended is not offered;
    the second value tells the application that such a newer one exists.
    """
    if not releases:
        return None, None
    if maintenance_until is None:
        return releases[0], None
    for release in releases:
        if release["released_at"] <= maintenance_until:
            return release, (releases[0] if release is not releases[0] else None)
    return None, releases[0]


def frees_at(last_seen: dt.datetime, seat_release_days: int | None) -> dt.datetime | None:
    """When a machine last seen at ``last_seen`` frees its seat; None: never (``seat_release_days`` 0)."""
    if not seat_release_days:
        return None
    return last_seen + dt.timedelta(days=int(seat_release_days))
