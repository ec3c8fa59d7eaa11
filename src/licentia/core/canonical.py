"""Canonical JSON: the exact bytes that get signed.

Sorted keys, no insignificant white space, UTF-8. Only strings, integers,
booleans, null, lists and objects with string keys are carried: floats are
refused because their text form is not stable across languages, and a
signature over bytes a verifier cannot reproduce would be worthless.

The server has orjson and signs with it (a status check signs one document per
request); verifiers, and the client SDK, which ships without orjson, use the standard library. Both
write the same bytes for every value this module accepts, which a test holds them to.

The standard library's part is its C accelerator, ``_json``, called directly:
importing the ``json`` package imports ``re`` (and ``re`` imports ``enum``),
which alone costs an application's start half as much as Python's own start,
for regular expressions JSON never needs when the accelerator is there. The
calls are the ones ``json`` itself makes (``json.encoder.JSONEncoder.iterencode``,
``json.decoder.JSONDecoder``); whenever the accelerator is missing or fails,
``json`` gives the answer, so results and errors are exactly ``json``'s (tested).
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing is not imported: it would cost every application's start
if TYPE_CHECKING:
    from typing import Any

c_json: Any  # json's C accelerator: what every offline start parses its state with
try:
    import _json as c_json
except ImportError:  # another Python implementation: the json package does it all
    c_json = None

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


_PLAIN = frozenset({str, bool, type(None)})  # exact types with nothing to check


def _check(value: Any) -> None:
    # The exact types a document is made of are told apart by ``type()`` and their items checked in
    # the loop (a status check signs one document per request, and the walk cost four times the
    # encoding); anything else, subclasses included, takes the general rules of ``_check_any``.
    kind = type(value)
    if kind in _PLAIN:
        return
    if kind is int:
        if not -_MAX_INT <= value <= _MAX_INT:
            raise TypeError("canonical JSON integers must fit in 64 bits")
    elif kind is dict:
        for key, item in value.items():
            if type(key) is not str:
                raise TypeError("canonical JSON object keys must be strings")
            if type(item) not in _PLAIN:
                _check(item)
    elif kind is list or kind is tuple:
        for item in value:
            if type(item) not in _PLAIN:
                _check(item)
    else:
        _check_any(value)


def _check_any(value: Any) -> None:
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
    return dump_json(value, sort_keys=True).encode("utf-8")


_WHITESPACE = " \t\n\r"  # JSON's four


class _Options:
    """What ``_json.make_scanner`` reads from ``json.JSONDecoder()``: the defaults of ``json.loads``."""

    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    parse_constant = {"-Infinity": float("-inf"), "Infinity": float("inf"), "NaN": float("nan")}.__getitem__


_scanner: Any = None


def load_json(text: str | bytes) -> Any:
    """``json.loads(text)``: the same value for the same text, and the same errors."""
    global _scanner
    if c_json is not None:
        try:
            unicode = text.decode("utf-8") if isinstance(text, bytes) else text
            if _scanner is None:
                _scanner = c_json.make_scanner(_Options())
            start = len(unicode) - len(unicode.lstrip(_WHITESPACE))
            value, end = _scanner(unicode, start)
            if not unicode[end:].strip(_WHITESPACE):
                return value
        except RecursionError:
            raise  # the same from json: nested deeper than Python walks
        except Exception:  # noqa: S110 - json below raises its own error for malformed text (a BOM, UTF-16)
            pass
    import json

    return json.loads(text)


def dump_json(value: Any, *, sort_keys: bool = False) -> str:
    """``json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False, sort_keys=...)``."""
    if c_json is not None and not isinstance(value, str):
        try:
            encode = c_json.make_encoder({}, None, c_json.encode_basestring, None, ":", ",", sort_keys, False, False)
            return "".join(encode(value, 0))
        except RecursionError:
            raise
        except Exception:  # noqa: S110 - json below raises its own error for what it cannot write
            pass
    import json

    return json.dumps(value, sort_keys=sort_keys, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
