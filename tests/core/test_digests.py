"""core/digests.py gives what ``hmac`` and ``hashlib`` give, through ``_hashlib`` or, without it, through them."""

from __future__ import annotations

import hashlib
import hmac
import os
import sys

import pytest

from licentia.core import digests

CASES = [(b"", b""), (b"licentia:acme", b"machine:0123456789abcdef"), (os.urandom(100), os.urandom(5000))]


def expected(key: bytes, message: bytes) -> tuple[bytes, bytes]:
    return hmac.new(key, message, hashlib.sha256).digest(), hashlib.sha256(message).digest()


@pytest.mark.parametrize("openssl_module", [True, False], ids=["_hashlib", "hmac and hashlib"])
def test_the_same_digests_and_comparisons_as_the_standard_modules(monkeypatch, openssl_module: bool) -> None:
    monkeypatch.setattr(digests, "_functions", None)
    if not openssl_module:
        monkeypatch.setitem(sys.modules, "_hashlib", None)  # as on a Python built without OpenSSL
    for key, message in CASES:
        mac, digest = expected(key, message)
        assert digests.hmac_sha256(key, message) == mac
        assert digests.sha256(message) == digest
        assert digests.equal(mac, mac) and not digests.equal(mac, mac[:-1] + bytes([mac[-1] ^ 1]))
        assert not digests.equal(mac, mac[:16])
    assert digests._functions is not None
    assert (digests._functions[0] is hmac.digest) is not openssl_module
