"""``load_json`` and ``dump_json`` are ``json.loads`` and ``json.dumps``, without importing ``json`` on the way.

They call json's C accelerator directly (core/canonical.py says why); here they
must give the same values, the same text and the same errors as ``json`` for
whatever a state file, a document or a hostile edit can hold.
"""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from licentia.core import canonical
from licentia.core.canonical import dump_json, load_json

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=8), inner, max_size=5),
    max_leaves=30,
)


def outcome(fn, *args, **kwargs):  # type: ignore[no-untyped-def]
    try:
        value = fn(*args, **kwargs)
    except (ValueError, TypeError) as exc:
        return type(exc), str(exc)
    return value if not isinstance(value, float) or not math.isnan(value) else "nan"


@settings(max_examples=300, deadline=None)
@given(JSON_VALUES)
def test_the_same_text_and_values_as_json(value: object) -> None:
    expected = json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    assert dump_json(value) == expected
    assert dump_json(value, sort_keys=True) == json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )
    for text in (expected, json.dumps(value, indent=2), f" \t\n{expected}\r\n"):
        assert load_json(text) == json.loads(text)
        assert load_json(text.encode()) == json.loads(text.encode())


MALFORMED = [
    "", " ", "{", "[1,]", '{"a" 1}', '{"a":1,}', "[1] [2]", '"\x01"', "nul", "01", "1.", "-", '"\\ud800"',
    "NaN", "-Infinity", "[Infinity]", "\ufeff{}", "{}\x00", '{"a":1}x', "[" * 50 + "]" * 49,
    b"\xef\xbb\xbf{}", b"\xff\xfe{\x00}\x00", b"{\x00}\x00", b"\x00\x00\x00[", b'"\xed\xa0\x80"', b"\xc3(",
    b'{"k":"\xe9"}', bytearray(b"[1]"), 5, None,
]  # fmt: skip


@pytest.mark.parametrize("text", MALFORMED, ids=repr)
def test_the_same_answer_or_error_as_json_for_anything_else(text: object) -> None:
    assert outcome(load_json, text) == outcome(json.loads, text)


@pytest.mark.parametrize(
    "value", [float("nan"), {"x": float("inf")}, {1: "int key"}, {(1,): "tuple key"}, object(), {"s": {1}}, "text"]
)
def test_the_same_errors_as_json_for_what_it_cannot_write(value: object) -> None:
    expected = outcome(json.dumps, value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    assert outcome(dump_json, value) == expected


def test_nesting_too_deep_is_a_recursion_error_as_with_json() -> None:
    deep = "[" * 100_000 + "]" * 100_000
    with pytest.raises(RecursionError):
        load_json(deep)
    nested: list[object] = []
    for _ in range(100_000):
        nested = [nested]
    with pytest.raises(RecursionError):
        dump_json(nested)


def test_without_the_accelerator_json_does_it_all(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(canonical, "c_json", None)
    assert load_json(b'{"a":[1,"\xc3\xa9"]}') == {"a": [1, "é"]}
    assert dump_json({"b": 1, "a": "é"}, sort_keys=True) == '{"a":"é","b":1}'
    assert canonical.canonical_json({"b": 1, "a": "é"}, checked=False) == '{"a":"é","b":1}'.encode()
