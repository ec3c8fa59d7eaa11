"""Signed status documents: Ed25519 over canonical JSON, one key pair per product.

A signed document is a JSON object::

    {"document": {...}, "kid": "<key id>", "sig": "<base64url signature>",
     "endorsements": [{"kid": ..., "public_key": ..., "by": ..., "sig": ...}]}

``sig`` covers ``canonical_json(document)`` and nothing else. Applications pin
the product's public key; when the vendor rotates keys, each new key is
*endorsed* (signed) by the key before it, and documents carry the chain, so an
application that pinned an old key still trusts documents signed by the new one,
while nobody without one of the vendor's private keys can mint an endorsement.

Verification raises :class:`InvalidDocument` with no detail worth exploiting; it
never returns a bool that a caller could forget to test. It runs on libsodium
(:mod:`licentia.core.ed25519`) and needs nothing of ``cryptography``, which
only signing (the server's side) loads.
"""

from __future__ import annotations

import binascii

from licentia.core.canonical import canonical_json, load_json
from licentia.core.clock import from_iso, timedelta
from licentia.core.digests import sha256
from licentia.core.ed25519 import BadSignature, PublicKey, as_public_key

TYPE_CHECKING = False  # typing is not imported: it would cost every application's start
if TYPE_CHECKING:
    import datetime as dt
    from collections.abc import Callable, Iterable, Mapping
    from typing import Any

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

    from licentia.core.ed25519 import VerifyingKey

PUBLIC_KEY_SCHEME = "ed25519"
# How far a document's issue time may lie in the future of the verifier's clock
# before it is treated as forged or as a sign that the local clock was wound back.
MAX_CLOCK_SKEW = timedelta(minutes=10)
_MAX_ENDORSEMENTS = 32


class InvalidDocument(Exception):
    """The document is not a genuine, well-formed document for this product."""


# base64url through binascii: the ``base64`` module adds nothing here but import time.
_TO_URLSAFE = bytes.maketrans(b"+/", b"-_")
_FROM_URLSAFE = str.maketrans("-_", "+/")


def _b64(raw: bytes) -> bytes:
    """base64url without padding, as ASCII bytes (they need no escaping in JSON)."""
    return binascii.b2a_base64(raw, newline=False).translate(_TO_URLSAFE).rstrip(b"=")


def _b64e(raw: bytes) -> str:
    return _b64(raw).decode("ascii")


def _b64d(text: str) -> bytes:
    if not isinstance(text, str):
        raise TypeError("base64 text expected")
    return binascii.a2b_base64((text + "=" * (-len(text) % 4)).translate(_FROM_URLSAFE))


def key_id(public_key: VerifyingKey) -> str:
    return sha256(public_key.public_bytes_raw()).hex()[:16]


def export_public_key(public_key: VerifyingKey) -> str:
    """The text an application embeds: ``ed25519:<kid>:<base64url raw key>``."""
    raw = public_key.public_bytes_raw()
    return f"{PUBLIC_KEY_SCHEME}:{key_id(public_key)}:{_b64e(raw)}"


def load_public_key(text: str) -> tuple[str, PublicKey]:
    """Parse an exported public key; the key id is recomputed, never trusted."""
    try:
        scheme, kid, b64 = text.strip().split(":")
        if scheme != PUBLIC_KEY_SCHEME:
            raise ValueError(scheme)
        key = PublicKey(_b64d(b64))
    except (ValueError, TypeError) as exc:
        raise ValueError("not a Licentia public key (expected 'ed25519:<kid>:<key>')") from exc
    if key_id(key) != kid:
        raise ValueError("the public key's id does not match the key")
    return kid, key


class SigningKey:
    """A product's private key (``cryptography``'s) with its public key and key id; only signers load it.

    Everything is derived once, here: signing (the server signs a document per status check) then
    reads plain attributes, with no ``dataclasses`` or ``functools`` on the SDK's start.
    """

    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        self.private_key = private_key
        self.public_key: Ed25519PublicKey = private_key.public_key()
        self.kid = key_id(self.public_key)
        self._sign_bytes = self._signer()
        # The signed wrapper's last member but one, in canonical form, made once.
        self._kid_member = b',"kid":' + canonical_json(self.kid)

    def __repr__(self) -> str:
        return f"SigningKey(kid={self.kid!r})"  # never the key itself

    @classmethod
    def generate(cls) -> SigningKey:
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

        return cls(Ed25519PrivateKey.generate())

    def _signer(self) -> Callable[[bytes], bytes]:
        """Ed25519 over ``message``: libsodium where installed, else OpenSSL.

        Ed25519 signatures are deterministic, so both give the same bytes (tested).
        PyNaCl is imported here, not with the module: applications only verify,
        and importing it would cost every one of their starts.
        """
        try:
            from nacl import bindings as sodium
        except ImportError:  # an install without PyNaCl
            return self.private_key.sign
        seed = self.private_key.private_bytes_raw()
        _public, secret = sodium.crypto_sign_seed_keypair(seed)
        return lambda message: bytes(sodium.crypto_sign(message, secret)[: sodium.crypto_sign_BYTES])

    def export_public(self) -> str:
        return export_public_key(self.public_key)

    def endorse(self, newer: SigningKey, product: str) -> dict[str, str]:
        """Sign ``newer``'s public key so holders of this key will trust it."""
        claim = {"kid": newer.kid, "public_key": newer.export_public(), "product": product}
        return {
            "kid": newer.kid,
            "public_key": newer.export_public(),
            "by": self.kid,
            "sig": _b64e(self.private_key.sign(canonical_json(claim))),
        }

    def sign(self, document: Mapping[str, Any], endorsements: Iterable[Mapping[str, str]] = ()) -> bytes:
        """Return the signed document as canonical JSON bytes (the offline license file)."""
        body = canonical_json(dict(document))
        # The wrapper's keys sort as document < endorsements < kid < sig, so its
        # canonical form is the already-canonical body spliced in, not a second
        # serialisation of the whole document.
        chain = [dict(e) for e in endorsements]
        middle = b',"endorsements":' + canonical_json(chain) if chain else b""
        return b'{"document":' + body + middle + self._kid_member + b',"sig":"' + _b64(self._sign_bytes(body)) + b'"}'


def _trusted_keys(pinned: Mapping[str, VerifyingKey], endorsements: Any, product: str) -> dict[str, PublicKey]:
    keys = {kid: as_public_key(key) for kid, key in pinned.items()}
    if not endorsements:
        return keys
    if not isinstance(endorsements, list) or len(endorsements) > _MAX_ENDORSEMENTS:
        raise InvalidDocument("malformed endorsements")
    # Endorsements may arrive in any order; keep passing until no new key is learnt.
    pending = list(endorsements)
    progress = True
    while pending and progress:
        progress = False
        for item in list(pending):
            if not isinstance(item, dict) or item.get("by") not in keys:
                continue
            pending.remove(item)
            try:
                kid, key = load_public_key(str(item["public_key"]))
                claim = {"kid": kid, "public_key": item["public_key"], "product": product}
                keys[item["by"]].verify(_b64d(str(item["sig"])), canonical_json(claim))
            except (KeyError, ValueError):  # BadSignature is a ValueError
                continue
            if kid == item.get("kid"):
                keys.setdefault(kid, key)
                progress = True
    return keys


def verify_document(
    unverified: bytes | str | Mapping[str, Any],
    public_keys: Mapping[str, VerifyingKey],
    *,
    product: str,
    at_time: dt.datetime | None = None,
) -> dict[str, Any]:
    """Verify a signed document and return its payload.

    ``public_keys`` maps key ids to the product's trusted public keys (the pinned
    ones). The payload must name ``product``; when ``at_time`` is given, a
    document issued more than :data:`MAX_CLOCK_SKEW` in its future is refused.
    Whatever ``unverified`` holds (garbage, JSON nested a hundred thousand deep,
    values of the wrong type), the only error is :class:`InvalidDocument`.
    """
    try:
        return _verify(unverified, public_keys, product=product, at_time=at_time)
    except RecursionError as exc:  # nesting deeper than the parser or the canonical form can walk
        raise InvalidDocument("malformed document") from exc


def _verify(
    unverified: bytes | str | Mapping[str, Any],
    public_keys: Mapping[str, VerifyingKey],
    *,
    product: str,
    at_time: dt.datetime | None,
) -> dict[str, Any]:
    try:
        unverified_signed = load_json(unverified) if isinstance(unverified, (bytes, str)) else dict(unverified)
        unverified_payload = unverified_signed["document"]
        kid = unverified_signed["kid"]
        signature = _b64d(unverified_signed["sig"])
        if not isinstance(unverified_payload, dict) or not isinstance(kid, str):
            raise InvalidDocument("malformed document")
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise InvalidDocument("malformed document") from exc
    keys = _trusted_keys(public_keys, unverified_signed.get("endorsements"), product)
    key = keys.get(kid)
    if key is None:
        raise InvalidDocument("document signed by an unknown key")
    try:
        key.verify(signature, canonical_json(unverified_payload, checked=False))
    except (BadSignature, TypeError, ValueError) as exc:
        raise InvalidDocument("bad signature") from exc
    payload: dict[str, Any] = unverified_payload
    if payload.get("product") != product:
        raise InvalidDocument("document is for another product")
    if at_time is not None:
        try:
            issued = from_iso(str(payload["issued_at"]))
        except (KeyError, ValueError, OverflowError) as exc:
            raise InvalidDocument("document has no valid issue time") from exc
        if issued - at_time > MAX_CLOCK_SKEW:
            raise InvalidDocument("document issued in the future")
    return payload
