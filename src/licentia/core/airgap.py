"""Air-gapped activation files: the request, the response and the deactivation proof.

A machine that never reaches the server still activates: it writes an
*activation request*, the vendor turns it into an *activation response*, and
to give the seat back it writes a *deactivation proof*. Each file is text, to
be mailed or carried on a USB stick::

    -----BEGIN LICENTIA ACTIVATION REQUEST-----
    eyJyZXF1ZXN0Ijp7...   (base64url of canonical JSON, 64 characters a line)
    -----END LICENTIA ACTIVATION REQUEST-----

Threats, and what stops each:

- a response used on another machine: the status document inside is signed
  by the product key and names this machine's hardware (checked offline, as
  every stored document is), and the installation's credential travels sealed
  to an X25519 key whose private half never left the requesting machine;
- a request replayed for a second seat: its random nonce is kept by the
  server, and a second use is refused;
- a request or proof edited in transit: each is signed with the machine's
  Ed25519 key, whose public half the request carries; a proof verifies only
  against the key the server stored from the activation's request, so nobody
  but that machine can free its seat.

Crypto comes from ``cryptography``: Ed25519 signatures, and for the sealed
credential X25519 key agreement, HKDF-SHA256 and ChaCha20-Poly1305 (the
ECIES shape of libsodium's sealed boxes, which the SDK's one dependency lacks).
Everything that parses raises :class:`InvalidOfflineFile`, whatever the input.
"""

from __future__ import annotations

import binascii
import json
import re
import secrets
from typing import Any

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from licentia.core.canonical import canonical_json

FORMAT = 1
REQUEST, RESPONSE, PROOF = "ACTIVATION REQUEST", "ACTIVATION RESPONSE", "DEACTIVATION PROOF"
# A genuine file is a few kilobytes; a larger one is refused before it is decoded.
MAX_FILE_CHARS = 64 * 1024
_LINE = 64
_ARMOR = re.compile(r"-----BEGIN LICENTIA ([A-Z ]+)-----\s*(.*?)\s*-----END LICENTIA \1-----", re.S)
_SEAL_INFO = b"licentia offline credential v1"


class InvalidOfflineFile(Exception):
    """Not a well-formed, genuine offline activation file of the expected kind."""


def b64e(raw: bytes) -> str:
    return binascii.b2a_base64(raw, newline=False).decode().replace("+", "-").replace("/", "_").rstrip("=")


def b64d(text: Any) -> bytes:
    if not isinstance(text, str) or not text.isascii():
        raise InvalidOfflineFile("base64url text expected")
    try:
        return binascii.a2b_base64((text + "=" * (-len(text) % 4)).replace("-", "+").replace("_", "/"))
    except (binascii.Error, ValueError) as exc:
        raise InvalidOfflineFile("base64url text expected") from exc


def new_nonce() -> str:
    """A fresh 256-bit random nonce: what makes a request single use."""
    return b64e(secrets.token_bytes(32))


# -- armor ----------------------------------------------------------------------


def armor(kind: str, body: dict[str, Any]) -> str:
    """The file's text: ``body`` as canonical JSON, base64url, between BEGIN and END lines."""
    encoded = b64e(canonical_json(body))
    lines = [encoded[i : i + _LINE] for i in range(0, len(encoded), _LINE)]
    return "\n".join([f"-----BEGIN LICENTIA {kind}-----", *lines, f"-----END LICENTIA {kind}-----", ""])


def unarmor(kind: str, text: str | bytes) -> dict[str, Any]:
    """The JSON object a file of ``kind`` carries (signatures not yet checked)."""
    if isinstance(text, bytes):
        try:
            text = text.decode("ascii")
        except UnicodeDecodeError as exc:
            raise InvalidOfflineFile("not a Licentia offline file (not text)") from exc
    if not isinstance(text, str) or len(text) > MAX_FILE_CHARS:
        raise InvalidOfflineFile("not a Licentia offline file (empty or too large)")
    found = _ARMOR.search(text)
    if found is None:
        raise InvalidOfflineFile("not a Licentia offline file (no BEGIN/END lines)")
    if found.group(1) != kind:
        raise InvalidOfflineFile(f"this is a {found.group(1).lower()}, not a {kind.lower()}")
    raw = b64d("".join(found.group(2).split()))
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise InvalidOfflineFile("the file is damaged (not JSON inside)") from exc
    if not isinstance(body, dict):
        raise InvalidOfflineFile("the file is damaged (not an object inside)")
    return body


# -- signed claims (request and proof) -------------------------------------------


def signed_claim(kind: str, claim: dict[str, Any], key: Ed25519PrivateKey) -> str:
    """A request or proof: ``claim`` and the machine key's signature over its canonical JSON."""
    return armor(kind, {"claim": claim, "sig": b64e(key.sign(canonical_json(claim)))})


def read_claim(kind: str, text: str | bytes, *, product: str | None = None) -> tuple[dict[str, Any], bytes]:
    """The unverified claim of a request or proof and its signature; shape checked, not the signature."""
    body = unarmor(kind, text)
    claim, sig = body.get("claim"), body.get("sig")
    if not isinstance(claim, dict) or claim.get("v") != FORMAT:
        raise InvalidOfflineFile("the file is damaged or of an unknown version")
    if product is not None and claim.get("product") != product:
        raise InvalidOfflineFile("the file is for another product")
    return claim, b64d(sig)


def verify_claim(claim: dict[str, Any], sig: bytes, public_key: str) -> None:
    """Raise unless ``sig`` is the machine key's signature over ``claim``."""
    try:
        key = Ed25519PublicKey.from_public_bytes(b64d(public_key))
        key.verify(sig, canonical_json(claim))
    except (ValueError, TypeError, InvalidSignature, RecursionError) as exc:
        raise InvalidOfflineFile("the signature does not match: the file was changed or forged") from exc


def public_text(key: Ed25519PrivateKey | X25519PrivateKey) -> str:
    return b64e(key.public_key().public_bytes_raw())


def private_text(key: Ed25519PrivateKey | X25519PrivateKey) -> str:
    return b64e(key.private_bytes_raw())


def load_signing_key(text: Any) -> Ed25519PrivateKey:
    try:
        return Ed25519PrivateKey.from_private_bytes(b64d(text))
    except ValueError as exc:
        raise InvalidOfflineFile("damaged machine key") from exc


def load_box_key(text: Any) -> X25519PrivateKey:
    try:
        return X25519PrivateKey.from_private_bytes(b64d(text))
    except ValueError as exc:
        raise InvalidOfflineFile("damaged machine key") from exc


# -- the sealed credential ----------------------------------------------------------


def _seal_key(shared: bytes, ephemeral: bytes, recipient: bytes) -> bytes:
    hkdf = HKDF(algorithm=SHA256(), length=32, salt=ephemeral + recipient, info=_SEAL_INFO)
    return hkdf.derive(shared)


def seal(
    plaintext: bytes,
    recipient_public: str,
    context: bytes,
    *,
    ephemeral: X25519PrivateKey | None = None,
    nonce: bytes | None = None,
) -> dict[str, str]:
    """Encrypt to the machine's X25519 key; ``context`` (the request nonce) is authenticated too.

    ``ephemeral`` and ``nonce`` are fresh random ones unless given (the conformance vectors fix them).
    """
    try:
        recipient = X25519PublicKey.from_public_bytes(b64d(recipient_public))
    except ValueError as exc:
        raise InvalidOfflineFile("the request's box key is not an X25519 key") from exc
    ephemeral = ephemeral or X25519PrivateKey.generate()
    epk = ephemeral.public_key().public_bytes_raw()
    key = _seal_key(ephemeral.exchange(recipient), epk, recipient.public_bytes_raw())
    nonce = nonce or secrets.token_bytes(12)
    ciphertext = ChaCha20Poly1305(key).encrypt(nonce, plaintext, context)
    return {"epk": b64e(epk), "nonce": b64e(nonce), "ct": b64e(ciphertext)}


def unseal(sealed: Any, private: X25519PrivateKey, context: bytes) -> bytes:
    """Open what :func:`seal` made for this machine; anything else raises :class:`InvalidOfflineFile`."""
    if not isinstance(sealed, dict):
        raise InvalidOfflineFile("the response carries no sealed credential")
    try:
        epk = b64d(sealed.get("epk"))
        shared = private.exchange(X25519PublicKey.from_public_bytes(epk))
        key = _seal_key(shared, epk, private.public_key().public_bytes_raw())
        return ChaCha20Poly1305(key).decrypt(b64d(sealed.get("nonce")), b64d(sealed.get("ct")), context)
    except (ValueError, InvalidTag) as exc:
        raise InvalidOfflineFile("the credential is sealed for another machine, or was changed") from exc
