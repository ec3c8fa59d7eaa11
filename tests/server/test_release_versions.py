"""Release versions: PEP 440 and SemVer both taken, ordered together, anything else refused with the rule."""

from __future__ import annotations

import pytest

from licentia.server.errors import ApiError, ErrorCode
from licentia.server.releases.versions import parse_version


def test_semver_and_pep440_versions_order_together() -> None:
    typed = ["3.0.0", "3.0.0-nightly", "2.9.1", "3.0.0-alpha.1", "3.0.0-alpha", "3.0.1", "1.0.0-alpha.beta", "2.0"]
    assert sorted(typed, key=parse_version) == [
        "1.0.0-alpha.beta", "2.0", "2.9.1", "3.0.0-alpha", "3.0.0-alpha.1", "3.0.0-nightly", "3.0.0", "3.0.1",
    ]  # fmt: skip
    assert parse_version("3.0.0") > parse_version("3.0.0-nightly") > parse_version("2.9")
    assert parse_version("1.0.0+build.5") == parse_version("1.0.0+build.5")


@pytest.mark.parametrize("text", ["three", "3.0.0-", "01.2.3-x", "1.2.3-nightly..2"])
def test_what_is_neither_is_refused_with_the_rule(text: str) -> None:
    with pytest.raises(ApiError) as refused:
        parse_version(text)
    assert refused.value.code == ErrorCode.INVALID_VERSION
    assert "PEP 440 (2.4.0, 2.0rc1) or SemVer" in refused.value.message
