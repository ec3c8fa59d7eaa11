"""The words of the contract, each enumerated once: statuses, license states, event kinds, topics, client error codes.

The server writes them, the SDK and the CLI read them, the docs list them; the
TypeScript and C clients get them as constants generated from here
(``conformance/generate.py``, like the conformance vectors).
Each is a ``StrEnum``: a member is its own string on the wire and in the
database, so comparing with the text a client sent just works.
This module imports only ``enum``, so a command that offers them as choices
(``licentia device set-status --status``) starts as fast as Python does.
"""

from __future__ import annotations

import enum


class DeviceStatus(enum.StrEnum):
    """The status the server decided for an installation (``status`` in the signed document)."""

    TRIAL = "trial"
    TRIAL_EXPIRED = "trial_expired"
    REGISTERED = "registered"
    SUSPENDED = "suspended"
    BLOCKED = "blocked"


class LicenseState(enum.StrEnum):
    """A license's own state, set by the vendor (or by its expiry)."""

    ACTIVE = "active"
    SUSPENDED = "suspended"
    REVOKED = "revoked"
    EXPIRED = "expired"


class EventKind(enum.StrEnum):
    """What happened to an installation (``events.kind``)."""

    # Reported by the application (POST /v1/events).
    INSTALL = "install"
    REGISTER = "register"
    USAGE = "usage"
    UNINSTALL = "uninstall"
    FEEDBACK = "feedback"
    UPGRADE = "upgrade"
    # Recorded by the server itself.
    CHECK = "check"
    # The installation came back after its data folder was deleted: with its credential kept
    # outside the folder (same device id), or recognised by fingerprint (a new installation
    # linked to the one it replaces). ``upgrade`` instead when the version changed with it.
    REINSTALL = "reinstall"
    # The installation's data folder moved on its machine (``POST /v1/move``).
    MOVED = "moved"
    HARDWARE_CHANGED = "hardware_changed"
    CLONE_SUSPECTED = "clone_suspected"
    INVALID_KEY = "invalid_key"
    DEACTIVATE = "deactivate"
    # A consumption brought a meter to its limit for the period (once per meter and period).
    QUOTA_REACHED = "quota_reached"


# What an application may report; the other kinds only the server records (a client
# that could report "clone_suspected" or "check" could forge evidence or hide itself).
REPORTED_EVENT_KINDS = frozenset(
    {
        EventKind.INSTALL,
        EventKind.REGISTER,
        EventKind.USAGE,
        EventKind.UNINSTALL,
        EventKind.FEEDBACK,
        EventKind.UPGRADE,
    }
)
# The signals of unlicensed use, counted together on the dashboard and notified as one topic.
PIRACY_EVENT_KINDS = frozenset({EventKind.CLONE_SUSPECTED, EventKind.INVALID_KEY})


class StatusReason(enum.StrEnum):
    """Why an installation has the status it has (``reason`` in the signed document), when the server says why."""

    # The state was copied and the product blocks copies (``on_clone = block``).
    CLONE_SUSPECTED = "clone_suspected"
    # The installation's state was carried to another computer: activate that one with the key,
    # and free the old one's seat in the portal.
    MOVED_TO_OTHER_MACHINE = "moved_to_other_machine"
    DEACTIVATED = "deactivated"
    LICENSE_REVOKED = "license_revoked"
    LICENSE_SUSPENDED = "license_suspended"
    LICENSE_EXPIRED = "license_expired"
    VIRTUAL_MACHINE = "virtual_machine"  # the product refuses virtual machines


class Topic(enum.StrEnum):
    """A notification topic: a switch of a product's email settings, and a webhook subscription."""

    INSTALL = "install"
    UNINSTALL = "uninstall"
    FEEDBACK = "feedback"
    REGISTER = "register"
    PIRACY = "piracy"


class ClientErrorCode(enum.StrEnum):
    """The error codes a client acts on: ``error.code`` of a refusal, as the SDKs compare it.

    Each is a code of the server's (``licentia.server.errors.ErrorCode``) answered on the public
    API, with the same word (a test holds them to it); the server's enumeration has the rest,
    with statuses and meanings. An application branches on these too (``ServerRefused.code``).
    """

    # Any call. HTTP_ERROR is what the SDKs name a refusal whose body carries no code.
    HTTP_ERROR = "http_error"
    VALIDATION_ERROR = "validation_error"  # a queued event the server can never accept is dropped
    RATE_LIMITED = "rate_limited"
    # The installation's credential and rotating token: the SDK replaces them once, then retries.
    INVALID_CREDENTIAL = "invalid_credential"
    STALE_TOKEN = "stale_token"  # noqa: S105 - an error code, not a secret
    # A move (POST /v1/move) from hardware that is not the installation's machine.
    OTHER_MACHINE = "other_machine"
    # A license key refused: the application tells its user (the SDK stops a lease's heartbeats).
    INVALID_KEY = "invalid_key"
    LICENSE_SUSPENDED = "license_suspended"
    LICENSE_REVOKED = "license_revoked"
    LICENSE_EXPIRED = "license_expired"
    TOO_MANY_DEVICES = "too_many_devices"
    TRANSFER_LIMIT = "transfer_limit"  # moved to other machines as often as allowed: details say when again
    MACHINE_RESTRICTED = "machine_restricted"
    VIRTUAL_MACHINE_NOT_ALLOWED = "virtual_machine_not_allowed"
    # Floating licenses: leases and borrowing.
    NOT_FLOATING = "not_floating"
    FLOATING_LICENSE = "floating_license"
    NO_SEAT_AVAILABLE = "no_seat_available"
    LEASE_EXPIRED = "lease_expired"
    UNKNOWN_LEASE = "unknown_lease"
    BORROW_NOT_ALLOWED = "borrow_not_allowed"
    # Named users: a user license is signed in to (RFC 8628's device authorization), never activated.
    USER_LICENSE = "user_license"
    AUTHORIZATION_PENDING = "authorization_pending"
    SLOW_DOWN = "slow_down"
    ACCESS_DENIED = "access_denied"
    EXPIRED_TOKEN = "expired_token"  # noqa: S105 - an error code, not a secret
    INVALID_GRANT = "invalid_grant"
    # Values and meters.
    NOT_REGISTERED = "not_registered"
    UNKNOWN_VALUE = "unknown_value"
    QUOTA_EXCEEDED = "quota_exceeded"
    UNKNOWN_METER = "unknown_meter"
