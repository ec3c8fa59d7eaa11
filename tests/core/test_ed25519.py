"""The three Ed25519 verifiers agree: libsodium through PyNaCl's compiled module, PyNaCl's public API, OpenSSL.

The SDK verifies through ``nacl._sodium`` (PyNaCl's private module, chosen for
its import cost: see core/ed25519.py) and falls back to the public
``nacl.bindings`` and then to ``cryptography``; a document must be genuine or
forged alike whichever one a given install ends up using.
"""

from __future__ import annotations

import os

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from licentia.core import ed25519
from licentia.core.ed25519 import BadSignature, PublicKey
from licentia.core.signing import SigningKey, load_public_key, verify_document

CHECKS = {
    "libsodium (nacl._sodium)": ed25519.sodium_check(),
    "PyNaCl public API": ed25519.bindings_check(),
    "OpenSSL (cryptography)": ed25519.openssl_check(),
}


def cases() -> list[tuple[bytes, bytes, bytes, bool]]:
    """(public key, signature, message, genuine): genuine signatures and every way of tampering with one."""
    found = []
    for size in (0, 1, 64, 600, 4096):
        private = Ed25519PrivateKey.generate()
        key = private.public_key().public_bytes_raw()
        message = os.urandom(size)
        signature = private.sign(message)
        found.append((key, signature, message, True))
        for i in (0, 31, 32, 63):  # R and S, first and last bytes
            flipped = bytearray(signature)
            flipped[i] ^= 0x01
            found.append((key, bytes(flipped), message, False))
        if message:
            found.append((key, signature, bytes([message[0] ^ 0x80]) + message[1:], False))
            found.append((key, signature, message[:-1], False))
        found.append((key, signature, message + b"\x00", False))
        other = Ed25519PrivateKey.generate().public_key().public_bytes_raw()
        found.append((other, signature, message, False))
        found.append((key, bytes(64), message, False))
    # S + L (the group order) is the same signature to a lax verifier: all three must refuse it.
    order = 2**252 + 27742317777372353535851937790883648493
    private = Ed25519PrivateKey.generate()
    key, signature = private.public_key().public_bytes_raw(), private.sign(b"licence")
    s = int.from_bytes(signature[32:], "little") + order
    found.append((key, signature[:32] + s.to_bytes(32, "little"), b"licence", False))
    return found


def test_every_verifier_is_available_here() -> None:
    assert all(check is not None for check in CHECKS.values())


@pytest.mark.parametrize("name", CHECKS)
def test_the_verifiers_agree_on_genuine_and_tampered_signatures(name: str) -> None:
    check = CHECKS[name]
    assert check is not None
    for key, signature, message, genuine in cases():
        assert check(key, signature, message) is genuine, (name, signature.hex(), len(message))


def test_a_public_key_verifies_through_the_libsodium_module_and_raises_on_a_bad_signature() -> None:
    private = Ed25519PrivateKey.generate()
    key = PublicKey(private.public_key().public_bytes_raw())
    key.verify(private.sign(b"status"), b"status")
    assert ed25519._check is not None and ed25519._check.__qualname__.startswith("sodium_check")
    with pytest.raises(BadSignature):
        key.verify(private.sign(b"status"), b"statut")
    for malformed in (b"", private.sign(b"status")[:63], private.sign(b"status") + b"\x00", "text"):
        with pytest.raises(BadSignature):
            key.verify(malformed, b"status")  # type: ignore[arg-type]
    for raw in (b"", bytes(31), bytes(33), "x" * 32):
        with pytest.raises(ValueError):
            PublicKey(raw)  # type: ignore[arg-type]


def test_the_sdk_falls_back_to_the_public_api_when_the_private_module_is_gone(monkeypatch) -> None:
    import sys

    key = SigningKey.generate()
    signed = key.sign({"product": "acme", "status": "trial"})
    kid, public = load_public_key(key.export_public())
    monkeypatch.setattr(ed25519, "_check", None)
    monkeypatch.setitem(sys.modules, "nacl._sodium", None)
    assert ed25519.sodium_check() is None
    assert verify_document(signed, {kid: public}, product="acme")["status"] == "trial"
    assert ed25519._check is not None and ed25519._check.__qualname__.startswith("bindings_check")
    monkeypatch.setattr(ed25519, "_check", None)
    monkeypatch.setitem(sys.modules, "nacl.bindings", None)
    assert verify_document(signed, {kid: public}, product="acme")["status"] == "trial"
    assert ed25519._check is not None and ed25519._check.__qualname__.startswith("openssl_check")


def test_a_cryptography_key_is_still_accepted_where_a_public_key_is() -> None:
    key = SigningKey.generate()
    signed = key.sign({"product": "acme", "status": "trial"})
    assert verify_document(signed, {key.kid: key.public_key}, product="acme")["status"] == "trial"
    assert PublicKey(key.public_key.public_bytes_raw()) == load_public_key(key.export_public())[1]
