"""Ed25519 signature checks, through libsodium, at a price an application's start can pay.

Every start of every protected application verifies its stored documents, so
the verifier's import is part of that start. Measured as whole processes
(``bench/cold_start.py``), importing ``cryptography``'s Ed25519 costs about
2.5 times a bare ``python -c pass``, and PyNaCl's public ``nacl.bindings``
about 2.4 times (it imports every binding module), while the compiled cffi
module those bindings wrap, ``nacl._sodium`` (libsodium), costs 1-2 ms.

So the check calls ``nacl._sodium.lib.crypto_sign_open``, exactly as PyNaCl's
own ``nacl.bindings.crypto_sign_open`` does (checked against PyNaCl 1.5.0 and
1.6.2: ``lib.sodium_init``, ``lib.crypto_sign_open``, ``ffi.new``). That module
is PyNaCl's private part, so it is trusted only after it has verified RFC 8032's
first test vector and refused a tampered copy of it in this process; if it is
missing or behaves otherwise, the public ``nacl.bindings.crypto_sign_open`` is
used, and without PyNaCl, ``cryptography``. All three are tested to agree on
genuine and tampered signatures (tests/core/test_ed25519.py). Nothing here
computes a curve operation itself.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing is not imported: it would cost every application's start
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Protocol

    class VerifyingKey(Protocol):
        """What verification needs of a public key (:class:`PublicKey`, or ``cryptography``'s)."""

        def public_bytes_raw(self) -> bytes: ...

        def verify(self, signature: bytes, data: bytes) -> None: ...

    Check = Callable[[bytes, bytes, bytes], bool]

KEY_BYTES = 32
SIGNATURE_BYTES = 64


class BadSignature(ValueError):
    """The signature is not this key's over these bytes (or is malformed)."""


class PublicKey:
    """A raw Ed25519 public key that verifies signatures (``verify`` raises :class:`BadSignature`)."""

    __slots__ = ("_raw",)

    def __init__(self, raw: bytes) -> None:
        if type(raw) is not bytes or len(raw) != KEY_BYTES:
            raise ValueError("an Ed25519 public key is 32 bytes")
        self._raw = raw

    def public_bytes_raw(self) -> bytes:
        return self._raw

    def verify(self, signature: bytes, data: bytes) -> None:
        # Lengths first: libsodium reads a fixed-size signature and key from the buffers it is given.
        if type(signature) is not bytes or len(signature) != SIGNATURE_BYTES or type(data) is not bytes:
            raise BadSignature("malformed signature")
        if not (_check or _backend())(self._raw, signature, data):
            raise BadSignature("bad signature")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PublicKey) and other._raw == self._raw

    def __hash__(self) -> int:
        return hash(self._raw)

    def __repr__(self) -> str:
        return f"PublicKey({self._raw.hex()})"


def as_public_key(key: VerifyingKey) -> PublicKey:
    """``key`` as a :class:`PublicKey` (a ``cryptography`` key is converted by its raw bytes)."""
    return key if isinstance(key, PublicKey) else PublicKey(key.public_bytes_raw())


# RFC 8032, section 7.1, TEST 1: the empty message.
_RFC_KEY = bytes.fromhex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
_RFC_SIGNATURE = bytes.fromhex(
    "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
)


def sodium_check() -> Check | None:
    """libsodium through PyNaCl's compiled module, or ``None`` if it is missing or does not behave."""
    try:
        from nacl._sodium import ffi, lib  # type: ignore[import-not-found]  # compiled, no stub

        if lib.sodium_init() < 0:
            return None
        sign_open, new = lib.crypto_sign_open, ffi.new
    except (ImportError, AttributeError):
        return None

    def check(key: bytes, signature: bytes, message: bytes) -> bool:
        signed = signature + message
        opened = new("unsigned char[]", len(signed))
        opened_len = new("unsigned long long *")
        return bool(sign_open(opened, opened_len, signed, len(signed), key) == 0)

    try:
        tampered = _RFC_SIGNATURE[:-1] + bytes([_RFC_SIGNATURE[-1] ^ 1])
        if check(_RFC_KEY, _RFC_SIGNATURE, b"") and not check(_RFC_KEY, tampered, b""):
            return check
    except Exception:  # a changed private interface (types, arity): use the public one instead
        return None
    return None


def bindings_check() -> Check | None:
    """PyNaCl's public ``nacl.bindings.crypto_sign_open``."""
    try:
        from nacl.bindings import crypto_sign_open
        from nacl.exceptions import BadSignatureError
    except ImportError:
        return None

    def check(key: bytes, signature: bytes, message: bytes) -> bool:
        try:
            crypto_sign_open(signature + message, key)
        except BadSignatureError:
            return False
        return True

    return check


def openssl_check() -> Check:
    """``cryptography``'s Ed25519 (OpenSSL), for an install without PyNaCl."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    def check(key: bytes, signature: bytes, message: bytes) -> bool:
        try:
            Ed25519PublicKey.from_public_bytes(key).verify(signature, message)
        except InvalidSignature:
            return False
        return True

    return check


_check: Check | None = None


def _backend() -> Check:
    global _check
    _check = sodium_check() or bindings_check() or openssl_check()
    return _check
