"""SHA-256 and HMAC-SHA256 for the SDK's start: OpenSSL through the standard library's own C module.

The fingerprint's component hashes, the state file's seal and the key ids are
SHA-256 and HMAC-SHA256, computed at every application's start.
``hmac.digest(key, message, "sha256")`` is one call into ``_hashlib`` (the
standard library's OpenSSL module), but importing ``hmac`` also imports
``hashlib`` (which loads ``_blake2`` and builds every algorithm's constructor)
and ``warnings``: about a millisecond, a tenth of Python's own start, for
nothing used here. So these functions call ``_hashlib`` as ``hmac.digest`` and
``hashlib.sha256`` do, and fall back to ``hmac`` and ``hashlib`` on a Python
built without it (tests/core/test_digests.py holds both to the same answers).
Imported when first used: importing the SDK loads no OpenSSL at all.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing is not imported: it would cost every application's start
if TYPE_CHECKING:
    from collections.abc import Callable

    Functions = tuple[Callable[[bytes, bytes, str], bytes], Callable[[bytes], bytes], Callable[[bytes, bytes], bool]]

_functions: Functions | None = None  # (hmac_digest, sha256, compare_digest), loaded at first use


def _load() -> Functions:
    global _functions
    try:
        import _hashlib

        openssl_sha256 = _hashlib.openssl_sha256
        _functions = (_hashlib.hmac_digest, lambda data: openssl_sha256(data).digest(), _hashlib.compare_digest)
    except (ImportError, AttributeError):  # a Python without OpenSSL: the modules that work without it
        import hashlib
        import hmac

        _functions = (hmac.digest, lambda data: hashlib.sha256(data).digest(), hmac.compare_digest)
    return _functions


def hmac_sha256(key: bytes, message: bytes) -> bytes:
    """``hmac.digest(key, message, "sha256")``."""
    return (_functions or _load())[0](key, message, "sha256")


def sha256(data: bytes) -> bytes:
    """``hashlib.sha256(data).digest()``."""
    return (_functions or _load())[1](data)


def equal(a: bytes, b: bytes) -> bool:
    """``hmac.compare_digest(a, b)``: in constant time, so a forger learns nothing from how long it took."""
    return (_functions or _load())[2](a, b)
