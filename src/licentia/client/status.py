"""What ``check()`` answers, and how a signed document becomes that answer.

The same two steps run online (on the server's fresh answer) and offline (on
the stored copy): verify the signature with the pinned keys, check the
document describes *this* installation, then apply ``core.status.judge``. The
SDK never grants more than a document it verified says.
"""

from __future__ import annotations

from licentia.client._exceptions import ConfigurationError
from licentia.client._value import Value
from licentia.core.clock import from_iso
from licentia.core.fingerprint import matches
from licentia.core.signing import InvalidDocument, load_public_key, verify_document
from licentia.core.status import judge

TYPE_CHECKING = False  # typing is not imported: it would cost every application's start
if TYPE_CHECKING:
    import datetime as dt
    from collections.abc import Iterable, Mapping
    from typing import Any

    from licentia.client.fingerprint import Fingerprint
    from licentia.core.ed25519 import PublicKey, VerifyingKey
    from licentia.core.status import Verdict


class Status(Value):
    """This installation's licensing status, as the application sees it (immutable).

    ``state`` is the device status (``trial``, ``trial_expired``, ``registered``,
    ``suspended``, ``blocked``) or one the SDK derives offline: ``grace`` (lease
    ended, grace days left), ``lease_expired``, ``expired`` (license expiry) and
    ``unknown`` (no valid document and no server). ``as_dict()`` gives the fields.
    ``entitlements`` holds the license type's typed values (``export_pdf=True``,
    ``max_projects=10``, ``edition="pro"``) that are in force: read one with
    :meth:`entitlement`. ``maintenance`` says until when the license gets updates.
    ``device`` is this installation's id; ``customer`` names the licensee of an activated
    installation (``{"id": 42, "name": "Acme GmbH"}``, the name the vendor gave), else None.
    ``user`` is the person signed in on this installation (their email), on a license whose seats
    are named users (``Licentia.sign_in``), else None.
    ``unsaved`` is true when the server's answer verified and is used for this run but could not
    be written to the data folder (a read-only or full disk): the next start goes online again.
    """

    __slots__ = (
        "allowed",
        "clone_suspected",
        "customer",
        "days_left",
        "device",
        "entitlements",
        "features",
        "latest_release",
        "maintenance",
        "online",
        "reason",
        "state",
        "unsaved",
        "user",
    )  # fmt: skip
    _not_compared = frozenset({"latest_release", "entitlements", "maintenance", "customer", "user"})
    allowed: bool
    state: str
    days_left: int | None
    features: tuple[str, ...]
    reason: str | None
    online: bool
    device: str | None
    latest_release: Mapping[str, Any] | None
    clone_suspected: bool
    entitlements: Mapping[str, bool | int | str]
    maintenance: Mapping[str, Any] | None
    customer: Mapping[str, Any] | None
    unsaved: bool
    user: str | None

    def __init__(
        self,
        allowed: bool,
        state: str,
        days_left: int | None = None,
        features: tuple[str, ...] = (),
        reason: str | None = None,
        online: bool = False,
        device: str | None = None,
        latest_release: Mapping[str, Any] | None = None,
        clone_suspected: bool = False,
        entitlements: Mapping[str, bool | int | str] | None = None,
        maintenance: Mapping[str, Any] | None = None,
        customer: Mapping[str, Any] | None = None,
        unsaved: bool = False,
        user: str | None = None,
    ) -> None:
        self._init(
            allowed=allowed, state=state, days_left=days_left, features=features, reason=reason, online=online,
            device=device, latest_release=latest_release, clone_suspected=clone_suspected,
            entitlements=dict(entitlements or {}), maintenance=maintenance, customer=customer, unsaved=unsaved,
            user=user,
        )  # fmt: skip

    def has_feature(self, name: str) -> bool:
        return name in self.features

    def entitlement(self, name: str, default: Any = None) -> Any:
        """The value of entitlement ``name`` while it is in force, else ``default``.

        Nothing is in force while the status is not allowed; an entitlement whose
        expiry has passed (by the server's time online, the checked local time
        offline) is absent.
        """
        return self.entitlements.get(name, default)


def pinned_keys(public_key: str | Iterable[str]) -> dict[str, PublicKey]:
    """The application's pinned keys by key id; a malformed one is a :class:`ConfigurationError`."""
    texts = [public_key] if isinstance(public_key, str) else list(public_key)
    keys: dict[str, PublicKey] = {}
    for text in texts:
        try:
            kid, key = load_public_key(text)
        except (ValueError, TypeError, AttributeError) as exc:
            raise ConfigurationError(str(exc)) from exc
        keys[kid] = key
    if not keys:
        raise ConfigurationError("pin at least one public key")
    return keys


def is_token(value: Any) -> bool:
    """A credential part or token as the server makes them: short printable text."""
    return isinstance(value, str) and 0 < len(value) <= 200 and value.isascii() and value.isprintable()


def credential_of(unverified_answer: Mapping[str, Any], payload: Mapping[str, Any]) -> tuple[str, str] | None:
    """The credential an answer carries, if it is for the device its verified document names.

    The credential is outside the signature: only the server can tell a
    genuine one, so a bad one costs a refused call, never a grant.
    """
    credential = unverified_answer.get("credential")
    if not isinstance(credential, dict):
        return None
    device, secret = credential.get("device"), credential.get("secret")
    if isinstance(device, str) and device == payload.get("device") and is_token(device) and is_token(secret):
        return device, str(secret)
    return None


# The fields of a release the application is shown (``GET /v1/releases/latest``, and the status
# document's summary), with the type each must have; anything else of an answer is dropped.
_RELEASE_FIELDS: dict[str, type] = {
    "version": str, "channel": str, "released_at": str, "download_url": str, "notes": str, "newer": bool,
}  # fmt: skip
_MAX_URL = 2000


def release_of(unverified: Any) -> dict[str, Any] | None:
    """The release an answer describes, as the application may show it; None when it names no version.

    Only the known fields of their type (or null) are kept. The download URL is a link the
    application shows to its user: anything but a plain ``https://`` URL (``javascript:``,
    ``file:``, a plain-http link a network attacker could rewrite on the way) is dropped.
    """
    if not isinstance(unverified, dict):
        return None
    found = {
        name: value
        for name, kind in _RELEASE_FIELDS.items()
        if name in unverified and ((value := unverified[name]) is None or type(value) is kind)
    }
    if not found.get("version"):
        return None
    url = found.get("download_url")
    if isinstance(url, str) and not _https_link(url):
        found["download_url"] = None
    return found


def _https_link(url: str) -> bool:
    return (
        url.startswith("https://") and len(url) > len("https://") and len(url) <= _MAX_URL
        and url.isascii() and url.isprintable() and " " not in url
    )  # fmt: skip


def denied(reason: str, *, online: bool = False, state: str = "unknown") -> Status:
    return Status(allowed=False, state=state, days_left=0, reason=reason, online=online)


def verify_for_installation(
    unverified_signed: Mapping[str, Any],
    keys: Mapping[str, VerifyingKey],
    *,
    product: str,
    fingerprint: Fingerprint | None,
    at_time: dt.datetime | None,
) -> dict[str, Any]:
    """Verify signature and product, then that the document names this installation.

    A genuine document of *another* device (copied in, or replayed by someone
    between the app and the server) must not unlock this one: its components
    must match ours K of N and its data path must be ours.
    """
    payload = verify_document(unverified_signed, keys, product=product, at_time=at_time)
    if fingerprint is not None:
        components = payload.get("components")
        if not isinstance(components, dict) or payload.get("data_path") != fingerprint.data_path:
            raise InvalidDocument("document is for another installation")
        try:
            min_match = int(payload.get("min_match") or 2)
        except (TypeError, ValueError) as exc:
            raise InvalidDocument("malformed document") from exc
        if not matches(components, fingerprint.components, min_match):
            raise InvalidDocument("document is for another device")
    return payload


def status_of(payload: Mapping[str, Any], now: dt.datetime, *, online: bool, unsaved: bool = False) -> Status:
    try:
        verdict: Verdict = judge(payload, now)
    except (KeyError, TypeError, ValueError, OverflowError, AttributeError):
        return denied("invalid_document", online=online)
    return Status(
        allowed=verdict.allowed,
        state=verdict.state,
        days_left=verdict.days_left,
        features=verdict.features,
        # An allowed verdict has no reason of its own; keep the server's (e.g. "deactivated").
        reason=verdict.reason or (str(payload["reason"]) if payload.get("reason") else None),
        online=online,
        device=str(payload.get("device")) if payload.get("device") else None,
        latest_release=release_of(payload.get("latest_release")),
        clone_suspected=bool(payload.get("clone_suspected")),
        entitlements=_entitlements(payload, verdict, now),
        maintenance=_maintenance(payload),
        customer=_customer(payload),
        unsaved=unsaved,
        user=_user(payload),
    )


def _user(payload: Mapping[str, Any]) -> str | None:
    """The person the signed document names, on a license whose seats are users."""
    found = payload.get("user")
    return found if isinstance(found, str) and found and found.isprintable() and len(found) <= 320 else None


def _customer(payload: Mapping[str, Any]) -> dict[str, Any] | None:
    """The licensee the signed document names (``{"id": 42, "name": "Acme GmbH"}``), if any."""
    lic = payload.get("license")
    found = lic.get("customer") if isinstance(lic, dict) else None
    if not isinstance(found, dict) or not isinstance(found.get("id"), int) or isinstance(found.get("id"), bool):
        return None
    name = found.get("name")
    return {"id": found["id"], "name": name if isinstance(name, str) else ""}


def _maintenance(payload: Mapping[str, Any]) -> dict[str, Any] | None:
    """Until when the license gets updates, and the newer release it does not cover, as the document says."""
    found = payload.get("maintenance")
    if not isinstance(found, dict):
        return None
    until, newer = found.get("until"), found.get("newer_release")
    offered = None
    if isinstance(newer, dict) and isinstance(newer.get("version"), str) and newer["version"]:
        channel = newer.get("channel")
        offered = {"version": newer["version"], "channel": channel if isinstance(channel, str) else None}
    return {"until": until if isinstance(until, str) else None, "newer_release": offered}


def _entitlements(payload: Mapping[str, Any], verdict: Verdict, now: dt.datetime) -> dict[str, bool | int | str]:
    """The typed entitlements in force at ``now``; from ``features`` for documents of older servers."""
    if not verdict.allowed:
        return {}
    unverified = payload.get("entitlements")
    if not isinstance(unverified, dict):
        return dict.fromkeys(verdict.features, True)
    return entitlements_in_force(unverified, now)


def entitlements_in_force(unverified: Any, now: dt.datetime) -> dict[str, bool | int | str]:
    """The well-formed entitlements of a verified document whose expiry is after ``now`` (status and lease)."""
    found: dict[str, bool | int | str] = {}
    if not isinstance(unverified, dict):
        return found
    for name, entry in unverified.items():
        if not isinstance(name, str) or not isinstance(entry, dict):
            continue
        value, expires = entry.get("value"), entry.get("expires_at")
        if not isinstance(value, bool | int | str):
            continue
        if expires is not None:
            try:
                if from_iso(str(expires)) <= now:
                    continue
            except (ValueError, OverflowError):
                continue  # an unreadable expiry grants nothing
        found[name] = value
    return found
