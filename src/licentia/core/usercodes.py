"""The short codes a person types to confirm an application's sign-in (RFC 8628's user code).

Eight letters in two groups of four, ``BDFG-HJK7``-like but letters only: the
RFC's suggested alphabet of 20 consonants (no vowels, so no word is spelled
by chance, and no look-alikes of digits). The last letter is a Luhn mod 20
check character, as license keys have one (``licensekeys``): a mistyped
letter is told apart from a wrong code without a look-up. The other seven
carry 30 bits: enough for a code that lives minutes and whose guesses the
portal rate-limits; the code alone grants nothing (the person confirming it
is signed in, and the device code the application polls with stays secret).
"""

from __future__ import annotations

import secrets

ALPHABET = "BCDFGHJKLMNPQRSTVWXZ"
_INDEX = {ch: i for i, ch in enumerate(ALPHABET)}
_BODY = 7
GROUP = 4


class UserCodeFormatError(ValueError):
    """The text is not a well-formed user code (length, letters or check character)."""


def _check_char(body: str) -> str:
    factor, total, n = 2, 0, len(ALPHABET)
    for ch in reversed(body):
        addend = factor * _INDEX[ch]
        factor = 1 if factor == 2 else 2
        total += addend // n + addend % n
    return ALPHABET[(n - total % n) % n]


def generate_user_code() -> str:
    """A fresh code, compact (``BDFGHJKL``); :func:`shown` groups it for people."""
    body = "".join(secrets.choice(ALPHABET) for _ in range(_BODY))
    return body + _check_char(body)


def shown(compact: str) -> str:
    return f"{compact[:GROUP]}-{compact[GROUP:]}"


def normalize_user_code(text: str) -> str:
    """The compact form of a typed code (any case, dashes and spaces ignored), or :class:`UserCodeFormatError`."""
    compact = "".join(ch for ch in text.upper() if ch not in " -\t")
    if len(compact) != _BODY + 1:
        raise UserCodeFormatError(f"a sign-in code has {_BODY + 1} letters")
    if any(ch not in _INDEX for ch in compact):
        raise UserCodeFormatError("a sign-in code has only consonants (no vowels, no digits)")
    if _check_char(compact[:-1]) != compact[-1]:
        raise UserCodeFormatError("the sign-in code has a typo (its last letter does not match)")
    return compact
