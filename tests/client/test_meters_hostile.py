"""``consume()`` against hostile answers: only documented errors, in bounded time."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from licentia.client import ConfigurationError, InvalidAnswer, Licentia, Offline, QuotaExceeded, ServerRefused
from licentia.core.signing import SigningKey
from tests.client.conftest import FakeMachine
from tests.client.hostile import ANSWERS, hostile_server, url_of

TIMEOUT = 0.5


@pytest.mark.parametrize("mode", sorted(ANSWERS))
def test_consume_raises_only_documented_errors(mode: str, machine: FakeMachine, tmp_path: Path) -> None:
    with hostile_server() as hostile:
        hostile.mode = mode
        lic = Licentia(
            url_of(hostile), "my-app", SigningKey.generate().export_public(), tmp_path / "data",
            fingerprint_root=machine.root, timeout=TIMEOUT,
        )  # fmt: skip
        started = time.monotonic()
        with pytest.raises((Offline, InvalidAnswer, ServerRefused, ConfigurationError)) as raised:
            lic.consume("renders", 1)
        # Bounded: a first check for the credential, then the attempts within their deadline.
        assert time.monotonic() - started < 6 * TIMEOUT + 1.5, mode
    # A refusal names its figures only from the answer: a hostile "quota_exceeded" grants nothing either.
    if isinstance(raised.value, QuotaExceeded):
        assert raised.value.consumption.remaining >= 0
