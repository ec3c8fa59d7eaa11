"""Canonical JSON: the exact bytes that get signed.

Sorted keys, no insignificant white space, UTF-8. Floats are refused because
their text form is not stable across languages, and a signature over bytes a
verifier cannot reproduce would be worthless.
"""

from __future__ import annotations

import json
from typing import Any


def _refuse_floats(value: Any) -> None:
    if isinstance(value, float):
        raise TypeError("canonical JSON does not carry floats; use integers or strings")
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError("canonical JSON object keys must be strings")
            _refuse_floats(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            _refuse_floats(item)


def canonical_json(value: Any) -> bytes:
    """Return the canonical UTF-8 bytes of ``value``."""
    _refuse_floats(value)
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode("utf-8")
