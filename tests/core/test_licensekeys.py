from __future__ import annotations

import pytest

from licentia.core.licensekeys import (
    ALPHABET,
    KeyFormatError,
    generate_key,
    key_hash,
    key_prefix,
    masked,
    normalize_key,
)


def test_generated_keys_are_grouped_unambiguous_and_valid():
    key = generate_key()
    groups = key.split("-")
    assert [len(g) for g in groups] == [5, 5, 5, 5, 5]
    assert set(key.replace("-", "")) <= set(ALPHABET)
    assert not set("01IO") & set(key)
    assert normalize_key(key) == key


def test_typing_variations_are_accepted():
    key = generate_key()
    assert normalize_key(key.lower().replace("-", " ")) == key
    assert key_hash(key.lower()) == key_hash(key)


def test_every_single_typo_is_caught_offline():
    key = generate_key()
    compact = key.replace("-", "")
    for i, ch in enumerate(compact):
        for other in ALPHABET:
            if other != ch:
                typo = compact[:i] + other + compact[i + 1 :]
                with pytest.raises(KeyFormatError):
                    normalize_key(typo)


def test_swapped_neighbours_are_caught():
    key = generate_key().replace("-", "")
    for i in range(len(key) - 1):
        # Luhn's one blind spot: the alphabet's first and last letters trading places.
        if key[i] != key[i + 1] and {key[i], key[i + 1]} != {"A", "9"}:
            swapped = key[:i] + key[i + 1] + key[i] + key[i + 2 :]
            with pytest.raises(KeyFormatError):
                normalize_key(swapped)


@pytest.mark.parametrize("text", ["", "ABCDE", "0" * 25, "I" * 25, "ABCDE-ABCDE-ABCDE-ABCDE-ABCDE-A"])
def test_malformed_keys_have_clear_messages(text):
    with pytest.raises(KeyFormatError, match="license key"):
        normalize_key(text)


def test_prefix_and_mask_never_show_the_whole_key():
    key = generate_key()
    assert key_prefix(key) == key[:5]
    assert key[6:] not in masked(key) and masked(key).startswith(key[:5])
