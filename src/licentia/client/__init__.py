"""Licentia client SDK: protect an application with a few lines.

    from licentia.client import Licentia
    lic = Licentia("https://licensing.example.com", "my-app", "ed25519:...")
    status = lic.check()
    if not status.allowed:
        raise SystemExit(f"Not licensed: {status.reason}")

Only the server decides: every status comes from a document signed with the
product's key, verified against the pinned public key and this machine's
hardware at every use. The local state is sealed with a key derived from the
device secret, which is enough against edits and copies to other hardware,
not against someone in full control of the machine who reads that secret (see
"What this does not stop" in docs/integrate-python.md).
"""

from __future__ import annotations

from licentia.client._client import Licentia
from licentia.client._exceptions import (
    ConfigurationError,
    InvalidAnswer,
    InvalidKey,
    LicentiaError,
    Offline,
    QuotaExceeded,
    ServerRefused,
)
from licentia.client._value import FlushResult
from licentia.client.fingerprint import Fingerprint
from licentia.client.status import Status

TYPE_CHECKING = False
if TYPE_CHECKING:
    from licentia.client.leases import Lease
    from licentia.client.meters import Consumption
    from licentia.client.signin import SignInCode

__all__ = [
    "ConfigurationError",
    "Consumption",
    "Fingerprint",
    "FlushResult",
    "InvalidAnswer",
    "InvalidKey",
    "Lease",
    "Licentia",
    "LicentiaError",
    "Offline",
    "QuotaExceeded",
    "ServerRefused",
    "SignInCode",
    "Status",
]


def __getattr__(name: str) -> object:
    # Floating leases (threads), meters and the sign-in load when first named: an application's start pays
    # only for what its offline check() uses.
    found: object
    if name == "Lease":
        from licentia.client import leases

        found = leases.Lease
    elif name == "Consumption":
        from licentia.client import meters

        found = meters.Consumption
    elif name == "SignInCode":
        from licentia.client import signin

        found = signin.SignInCode
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = found  # looked up once
    return found
