"""License keys typed by humans.

A key is 25 characters from a 32-letter alphabet without look-alikes (no I, O,
0, 1), shown in five groups of five: ``7KQ2M-XR4TD-...``. The last character is
a Luhn mod 32 check character, so a mistyped character or two swapped
neighbours are caught offline, before any network call (all swaps but one:
like every Luhn code, it cannot see ``A`` and ``9``, the first and last
letters of the alphabet, trade places). The other 24
characters carry 120 random bits: unguessable, so a plain SHA-256 is enough to
store them (argon2 slows guessing of *low*-entropy secrets; it adds nothing
against 2**120 and would make lookups by hash impossible).
"""

from __future__ import annotations

import hashlib
import secrets

ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
_INDEX = {ch: i for i, ch in enumerate(ALPHABET)}
_BODY = 24
GROUP = 5
PREFIX_LENGTH = 5


class KeyFormatError(ValueError):
    """The text is not a well-formed license key (wrong length, letters or check character)."""


def _check_char(body: str) -> str:
    # Luhn mod N (N = 32): detects every single substitution, and every adjacent
    # transposition but that of the first and last letters (A and 9).
    factor = 2
    total = 0
    n = len(ALPHABET)
    for ch in reversed(body):
        addend = factor * _INDEX[ch]
        factor = 1 if factor == 2 else 2
        total += addend // n + addend % n
    return ALPHABET[(n - total % n) % n]


def generate_key() -> str:
    body = "".join(secrets.choice(ALPHABET) for _ in range(_BODY))
    return format_key(body + _check_char(body))


def format_key(compact: str) -> str:
    return "-".join(compact[i : i + GROUP] for i in range(0, len(compact), GROUP))


def normalize_key(text: str) -> str:
    """Return the canonical grouped form of a typed key, or raise :class:`KeyFormatError`."""
    compact = "".join(ch for ch in text.upper() if ch not in " -\t")
    if len(compact) != _BODY + 1:
        raise KeyFormatError(f"a license key has {_BODY + 1} characters, this one has {len(compact)}")
    bad = sorted({ch for ch in compact if ch not in _INDEX})
    if bad:
        raise KeyFormatError(f"a license key cannot contain {''.join(bad)!r}")
    if _check_char(compact[:-1]) != compact[-1]:
        raise KeyFormatError("the license key has a typo (its check character does not match)")
    return format_key(compact)


def key_prefix(key: str) -> str:
    """The visible part stored in clear for search and evidence (never the whole key)."""
    return key.replace("-", "")[:PREFIX_LENGTH]


def key_hash(key: str) -> str:
    return hashlib.sha256(normalize_key(key).encode("ascii")).hexdigest()


def masked(key: str) -> str:
    """A form safe for logs and screens: the prefix and the rest hidden."""
    return key_prefix(key) + "-*****-*****-*****-*****"
