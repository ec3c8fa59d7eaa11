"""The words of the contract, each enumerated once: device statuses and license states.

The server writes them, the SDK and the CLI read them, the docs list them.
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
