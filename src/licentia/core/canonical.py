"""Canonical JSON: the exact bytes that get signed.

Sorted keys, no insignificant white space, UTF-8. Only strings, integers,
booleans, null, lists and objects with string keys are carried: floats are
refused because their text form is not stable across languages, and a
signature over bytes a verifier cannot reproduce would be worthless.

The server has orjson and signs with it (a status check signs one document per
request); verifiers, and the client SDK, which ships with nothing but
``cryptography``, use the standard library. Both write the same bytes for every value this module
accepts, which a test holds them to.
"""

from __future__ import annotations

import json
from typing import Any

_UNLOADED: Any = object()
# orjson, loaded by the first signer (``checked=True``), or None without it. Not
# at import: orjson imports dataclasses, uuid and enum, which an application's
# start (that only verifies) should not pay for.
orjson: Any = _UNLOADED


def _fast_encoder() -> Any:
    global orjson
    if orjson is _UNLOADED:
        try:
            import orjson as module

            orjson = module
        except ImportError:  # the client SDK's base install
            orjson = None
    return orjson


# The largest integer orjson writes; the standard library has no limit, so one rule for both.
_MAX_INT = 2**63 - 1


def _check(value: Any) -> None:
    # Subclasses (a str enum member, say) are written as their plain value by both encoders.
    if value is None or isinstance(value, (str, bool)):
        return
    if isinstance(value, int):
        if not -_MAX_INT <= value <= _MAX_INT:
            raise TypeError("canonical JSON integers must fit in 64 bits")
    elif isinstance(value, dict):
        for key, item in value.items():
            if type(key) is not str:
                raise TypeError("canonical JSON object keys must be strings")
            _check(item)
    elif isinstance(value, list) or type(value) is tuple:
        for item in value:
            _check(item)
    elif isinstance(value, float):
        raise TypeError("canonical JSON does not carry floats; use integers or strings")
    else:
        raise TypeError(f"canonical JSON does not carry {type(value).__name__} values")


def canonical_json(value: Any, *, checked: bool = True) -> bytes:
    """Return the canonical UTF-8 bytes of ``value``.

    ``checked=False`` skips the refusal of floats and oversized integers, for
    verifiers only: a value the signer would have refused was never signed, so
    its bytes simply fail the signature (and an offline check saves the walk).
    Verifiers always use the standard library, signers orjson where installed:
    the same bytes either way (tested).
    """
    if checked:
        _check(value)
        fast = _fast_encoder()
        if fast is not None:
            return bytes(fast.dumps(value, option=fast.OPT_SORT_KEYS))
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode("utf-8")
