"""The SDK's one exception tree.

Every error the SDK raises is a :class:`LicentiaError`, so an application can
catch one class around ``check()`` and never crash on licensing::

    LicentiaError
    ├── ConfigurationError      bad public key, product slug or data directory
    ├── InvalidKey              a license key with a typo, caught offline
    ├── Offline                 the server could not be reached in time
    └── ServerRefused           the server answered with an error code
        (code, message, status, retry_after)

Lower-level errors (``OSError``, ``urllib.error.URLError``, ``json`` errors)
are mapped with ``raise ... from exc`` and never escape.
"""

from __future__ import annotations


class LicentiaError(Exception):
    """Root of every error raised by ``licentia.client``."""


class ConfigurationError(LicentiaError):
    """The SDK was set up wrongly (public key, product slug, data directory)."""


class InvalidKey(LicentiaError):
    """The license key is malformed or has a typo; no network call was made."""


class Offline(LicentiaError):
    """The server could not be reached (or did not answer) within the timeout."""


class ServerRefused(LicentiaError):
    """The server answered with an error; ``code`` is the stable contract."""

    def __init__(self, code: str, message: str, *, status: int = 400, retry_after: int | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status
        self.retry_after = retry_after
