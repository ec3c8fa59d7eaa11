from __future__ import annotations

import datetime as dt
import json

import pytest

from licentia.core.canonical import canonical_json
from licentia.core.clock import UTC, to_iso
from licentia.core.signing import InvalidDocument, SigningKey, load_public_key, verify_document

NOW = dt.datetime(2026, 3, 1, tzinfo=UTC)
DOC = {"product": "acme", "status": "trial", "issued_at": to_iso(NOW), "note": "ünïcode"}


def pinned(key: SigningKey) -> dict:
    kid, public = load_public_key(key.export_public())
    return {kid: public}


def test_canonical_json_is_sorted_compact_utf8_and_refuses_floats():
    assert canonical_json({"b": 1, "a": "é"}) == '{"a":"é","b":1}'.encode()
    with pytest.raises(TypeError):
        canonical_json({"x": 1.5})


def test_server_and_client_encoders_write_the_same_canonical_bytes(monkeypatch):
    """The server signs with orjson, an SDK without it verifies with the standard library."""
    import licentia.core.canonical as canonical

    if canonical._fast_encoder() is None:
        pytest.skip("orjson is the server's; this install has only the SDK")
    every_ascii = "".join(chr(c) for c in range(128))
    values = [
        {"b": 1, "a": "é", "B": [True, False, None], "": {}},
        {"text": every_ascii, every_ascii: every_ascii, "ctl": "\u2028\u2029\ufeff\x85"},
        {"emoji": "😀", "😀": 1, "\uffff": 2, "z": 3, "é": 4, "aa": 5, "a": 6},
        {"n": [0, -1, 2**63 - 1, -(2**63 - 1)], "nested": [{"y": [], "x": [[{}]]}]},
        ["a", ("tuple", "too"), "ℵ₀ «ünïcode» 中文 𝄞"],
    ]
    for value in values:
        fast = canonical.canonical_json(value)
        monkeypatch.setattr(canonical, "orjson", None)
        slow = canonical.canonical_json(value)
        monkeypatch.undo()
        assert fast == slow, value


def test_libsodium_and_openssl_sign_the_same_bytes(monkeypatch):
    import sys

    pytest.importorskip("nacl.bindings", reason="PyNaCl is the server's; this install has only the SDK")
    key = SigningKey.generate()
    fast = key.sign(DOC)
    monkeypatch.setitem(sys.modules, "nacl", None)  # as in an install without PyNaCl
    assert SigningKey(key.private_key).sign(DOC) == fast
    assert verify_document(fast, pinned(key), product="acme", at_time=NOW) == DOC


@pytest.mark.parametrize(
    "value",
    [
        1.5,
        {"x": [0.0]},
        {1: "int key"},
        dt.datetime(2026, 1, 1),
        2**64,
        {"s": {1, 2}},
        # Deep in the document too, whatever holds it: the walk checks every item.
        {"a": {"b": [1, ("t", float("nan"))]}},
        {"a": [{"b": {"c": 2**63}}]},
        [-(2**63)],
        {"a": {"b": {2: "int key, nested"}}},
        ("tuple", {"x": b"bytes"}),
        {"a": [None, True, "s", dt.date(2026, 1, 1)]},
    ],
)
def test_canonical_json_refuses_what_it_cannot_write_the_same_everywhere(value):
    with pytest.raises(TypeError):
        canonical_json(value)


def test_canonical_json_writes_subclasses_as_their_plain_values():
    """A str or int enum member, or a dict subclass, anywhere in the document, as the standard library writes it."""
    import collections
    import enum

    class Colour(enum.StrEnum):
        RED = "red"

    class Size(enum.IntEnum):
        BIG = 3

    value = {"c": Colour.RED, "n": [Size.BIG, {"d": collections.OrderedDict(b=1, a=Colour.RED)}], Colour.RED: 1}
    with pytest.raises(TypeError):  # object keys must be plain strings
        canonical_json(value)
    del value[Colour.RED]
    assert canonical_json(value) == b'{"c":"red","n":[3,{"d":{"a":"red","b":1}}]}'


def test_a_signed_document_verifies_and_any_changed_byte_breaks_it():
    key = SigningKey.generate()
    signed = key.sign(DOC)
    assert verify_document(signed, pinned(key), product="acme", at_time=NOW) == DOC
    for i in range(len(signed)):
        tampered = bytearray(signed)
        tampered[i] ^= 0x01
        try:
            result = verify_document(bytes(tampered), pinned(key), product="acme")
        except InvalidDocument:
            continue
        # A flipped byte may only survive where JSON ignores it (it cannot: canonical form is re-derived).
        assert result == DOC and json.loads(bytes(tampered)) == json.loads(signed)


def test_another_products_key_is_refused():
    ours, theirs = SigningKey.generate(), SigningKey.generate()
    with pytest.raises(InvalidDocument):
        verify_document(theirs.sign(DOC), pinned(ours), product="acme")


def test_document_for_another_product_is_refused():
    key = SigningKey.generate()
    with pytest.raises(InvalidDocument):
        verify_document(key.sign({**DOC, "product": "other"}), pinned(key), product="acme")


def test_document_from_the_future_is_refused():
    key = SigningKey.generate()
    with pytest.raises(InvalidDocument):
        verify_document(key.sign(DOC), pinned(key), product="acme", at_time=NOW - dt.timedelta(hours=1))


def test_rotated_key_is_trusted_through_the_endorsement_chain():
    first, second, third = SigningKey.generate(), SigningKey.generate(), SigningKey.generate()
    chain = [first.endorse(second, "acme"), second.endorse(third, "acme")]
    signed = third.sign(DOC, chain)
    assert verify_document(signed, pinned(first), product="acme") == DOC
    with pytest.raises(InvalidDocument):
        verify_document(third.sign(DOC), pinned(first), product="acme")


def test_an_endorsement_by_an_untrusted_key_does_not_help():
    ours, attacker, forged = SigningKey.generate(), SigningKey.generate(), SigningKey.generate()
    signed = forged.sign(DOC, [attacker.endorse(forged, "acme")])
    with pytest.raises(InvalidDocument):
        verify_document(signed, pinned(ours), product="acme")


def test_an_endorsement_for_another_product_does_not_transfer():
    ours, newer = SigningKey.generate(), SigningKey.generate()
    signed = newer.sign(DOC, [ours.endorse(newer, "other-product")])
    with pytest.raises(InvalidDocument):
        verify_document(signed, pinned(ours), product="acme")


@pytest.mark.parametrize("junk", [b"", b"not json", b"[]", b'{"document": 1, "kid": "x", "sig": "y"}', b"{}"])
def test_garbage_is_an_invalid_document_not_a_crash(junk):
    with pytest.raises(InvalidDocument):
        verify_document(junk, pinned(SigningKey.generate()), product="acme")


def test_public_key_text_is_checked():
    key = SigningKey.generate()
    text = key.export_public()
    with pytest.raises(ValueError):
        load_public_key(text.replace(key.kid, "0" * 16))
    with pytest.raises(ValueError):
        load_public_key("rsa:abc:def")


def test_signed_bytes_are_the_canonical_form_of_the_signed_object():
    first, second = SigningKey.generate(), SigningKey.generate()
    for chain in ([], [first.endorse(second, "acme")]):
        signed = second.sign(DOC, chain)
        assert signed == canonical_json(json.loads(signed))


@pytest.mark.parametrize(
    "unverified",
    [
        b"[" * 100_000 + b"]" * 100_000,
        b'{"document": ' + b"[" * 100_000 + b"]" * 100_000 + b', "kid": "k", "sig": "AA"}',
        {"document": json.loads("[" * 900 + "]" * 900), "kid": 5, "sig": []},
        b'{"document": {"issued_at": "0001-01-01T00:00:00+14:00"}, "kid": "k", "sig": "AA"}',
        b"\xff\xfe garbage",
    ],
    ids=["nested", "nested document", "wrong types", "overflowing time", "garbage"],
)
def test_anything_that_is_not_a_genuine_document_is_invalid_document_only(unverified):
    key = SigningKey.generate()
    with pytest.raises(InvalidDocument):
        verify_document(unverified, pinned(key), product="acme", at_time=NOW)
    with pytest.raises(InvalidDocument):
        verify_document(unverified, {}, product="x")


def test_a_deeply_nested_document_signed_by_the_key_is_still_refused_not_a_crash():
    key = SigningKey.generate()
    deep: list = []
    for _ in range(50_000):
        deep = [deep]
    signed = {"document": {"product": "acme", "deep": deep}, "kid": key.kid, "sig": "AA"}
    with pytest.raises(InvalidDocument):
        verify_document(signed, pinned(key), product="acme")


def test_unknown_fields_such_as_machine_are_carried_and_ignored():
    key = SigningKey.generate()
    signed = key.sign({**DOC, "machine": "mc_0123", "field_of_a_later_server": {"x": [1]}})
    payload = verify_document(signed, pinned(key), product="acme", at_time=NOW)
    assert payload["machine"] == "mc_0123" and payload["status"] == "trial"
