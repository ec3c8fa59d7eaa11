"""The SDK's one exception tree.

Every error the SDK raises is a :class:`LicentiaError`, so an application can
catch one class around ``check()`` and never crash on licensing::

    LicentiaError
    ├── ConfigurationError      bad public key, product slug or data directory
    ├── InvalidKey              a license key with a typo, caught offline
    ├── Offline                 the server could not be reached in time
    │   └── InvalidAnswer       an answer that is not JSON, or does not verify
    │                           with the pinned key (a broken server, or
    │                           someone on the path): as good as no answer
    └── ServerRefused           the server answered with an error code
        │ (code, message, status, retry_after, details)
        └── QuotaExceeded       409 quota_exceeded: a meter's limit for the
                                period would be passed; nothing was counted
                                (``consumption``: used, limit, remaining, period end)

Lower-level errors (``OSError``, ``sqlite3`` errors, ``urllib.error.URLError``,
``http.client`` and ``json`` errors, the core's ``InvalidDocument``) are mapped
with ``raise ... from exc`` and never escape, whatever the network or the
files in the data directory hold.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing is not imported: it would cost every application's start
if TYPE_CHECKING:
    from typing import Any

    from licentia.client.meters import Consumption


class LicentiaError(Exception):
    """Root of every error raised by ``licentia.client``."""


class ConfigurationError(LicentiaError):
    """The SDK was set up wrongly (public key, product slug, data directory)."""


class InvalidKey(LicentiaError):
    """The license key is malformed or has a typo; no network call was made."""


class Offline(LicentiaError):
    """The server could not be reached (or did not answer) within the timeout."""


class InvalidAnswer(Offline):
    """The server's answer was garbage or did not verify; nothing of it was used or stored."""


class ServerRefused(LicentiaError):
    """The server answered with an error; ``code`` is the stable contract."""

    def __init__(
        self,
        code: str,
        message: str,
        *,
        status: int = 400,
        retry_after: int | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status
        self.retry_after = retry_after
        # The error's other fields (unverified: figures to show, never to grant by).
        self.details: dict[str, Any] = details or {}


class QuotaExceeded(ServerRefused):
    """A meter's limit for the period would be passed: nothing was counted; ``consumption`` says where it stands."""

    def __init__(self, consumption: Consumption, message: str) -> None:
        from licentia.core.vocabulary import ClientErrorCode  # here: enum is not loaded at every start

        super().__init__(ClientErrorCode.QUOTA_EXCEEDED, message, status=409, details=consumption.as_dict())
        self.consumption = consumption
