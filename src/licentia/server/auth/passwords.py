"""Password and token hashing with argon2id (argon2-cffi's RFC 9106 defaults)."""

from __future__ import annotations

from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError


@lru_cache(maxsize=1)
def hasher() -> PasswordHasher:
    return PasswordHasher()


def hash_secret(secret: str) -> str:
    return hasher().hash(secret)


def verify_secret(stored_hash: str, secret: str) -> bool:
    try:
        return hasher().verify(stored_hash, secret)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


# A hash of a random value: verifying unknown users against it takes as long as
# verifying a real one, so response times do not tell which accounts exist.
@lru_cache(maxsize=1)
def decoy_hash() -> str:
    return hash_secret("licentia-decoy-password")
