"""Canonical JSON: the exact bytes that get signed.

Sorted keys, no insignificant white space, UTF-8. Only strings, integers,
booleans, null, lists and objects with string keys are carried: floats are
refused because their text form is not stable across languages, and a
signature over bytes a verifier cannot reproduce would be worthless.

The server has orjson and uses it (a status check signs one document per
request); the client SDK, which ships with nothing but ``cryptography``, uses
the standard library. Both write the same bytes for every value this module
accepts, which a test holds them to.
"""

from __future__ import annotations

import json
from typing import Any

try:
    import orjson
except ImportError:  # the client SDK's base install
    orjson = None  # type: ignore[assignment]

_SCALARS = (str, int, bool, type(None))
# The largest integer orjson writes; the standard library has no limit, so one rule for both.
_MAX_INT = 2**63 - 1


def _check(value: Any) -> None:
    kind = type(value)
    if kind is str or kind is bool or value is None:
        return
    if kind is int:
        if not -_MAX_INT <= value <= _MAX_INT:
            raise TypeError("canonical JSON integers must fit in 64 bits")
        return
    if kind is dict or isinstance(value, dict):
        for key, item in value.items():
            if type(key) is not str:
                raise TypeError("canonical JSON object keys must be strings")
            _check(item)
        return
    if kind is list or kind is tuple:
        for item in value:
            _check(item)
        return
    if isinstance(value, float):
        raise TypeError("canonical JSON does not carry floats; use integers or strings")
    if isinstance(value, _SCALARS):
        # A subclass (a str enum member, say) is written as its plain value by both encoders.
        if isinstance(value, int) and not isinstance(value, bool) and not -_MAX_INT <= value <= _MAX_INT:
            raise TypeError("canonical JSON integers must fit in 64 bits")
        return
    raise TypeError(f"canonical JSON does not carry {kind.__name__} values")


def canonical_json(value: Any) -> bytes:
    """Return the canonical UTF-8 bytes of ``value``."""
    _check(value)
    if orjson is not None:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode("utf-8")
