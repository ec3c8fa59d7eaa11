"""The words of the contract, each enumerated once: statuses, license states, event kinds, topics.

The server writes them, the SDK and the CLI read them, the docs list them.
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


class Topic(enum.StrEnum):
    """A notification topic: a switch of a product's email settings, and a webhook subscription."""

    INSTALL = "install"
    UNINSTALL = "uninstall"
    FEEDBACK = "feedback"
    REGISTER = "register"
    PIRACY = "piracy"
