"""Air-gapped activation on the machine alone: hostile files, damaged keys, and the ``licentia-client`` commands.

No server takes part: the responses are made by the server's own service on a
migrated SQLite database in this process, then damaged on purpose.
"""

from __future__ import annotations

import json
import os
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from licentia.client import ConfigurationError, InvalidAnswer, InvalidKey, Licentia, LicentiaError
from licentia.client.cli import main as client_main
from licentia.client.offline_activation import OFFLINE_FILE
from licentia.core import airgap
from tests.client.conftest import FakeMachine

DOCUMENTED = (ConfigurationError, InvalidAnswer, InvalidKey)
ANSWERED = "this activation response answers a request this installation did not write"


class Vendor:
    """The server's side, run in this process on a migrated SQLite database."""

    def __init__(self, tmp_path: Path) -> None:
        from cryptography.fernet import Fernet

        from licentia.core.clock import SystemClock
        from licentia.server.devices.service import Checker
        from licentia.server.products.service import Keyring, create_product
        from licentia.server.store.engine import database_urls, make_sync_engine, upgrade

        urls = database_urls(f"sqlite:///{tmp_path / 'vendor.db'}")
        upgrade(urls)
        self.engine = make_sync_engine(urls, pool_size=1)
        fernet = Fernet(Fernet.generate_key())
        self.clock = SystemClock()
        with self.engine.begin() as conn:
            self.public_key = create_product(
                conn, slug="acme", name="Acme", fernet=fernet, now=self.clock.now()
            ).public_key
        self.checker = Checker(Keyring(fernet), product_ttl_seconds=0)

    def issue(self) -> str:
        from licentia.server.licenses.service import issue_license

        with self.engine.begin() as conn:
            return issue_license(conn, product="acme", email="c@example.com", now=self.clock.now(), max_devices=9).key

    def answer(self, request: str) -> str:
        from licentia.server.offline.service import answer_request, read_request

        with self.engine.begin() as conn:
            return answer_request(
                conn, checker=self.checker, request=read_request(request), lease_days=30, actor="test",
                now=self.clock.now(),
            ).response  # fmt: skip


@pytest.fixture
def vendor(tmp_path: Path) -> Iterator[Vendor]:
    made = Vendor(tmp_path)
    yield made
    made.engine.dispose()


def computer(vendor: Vendor, tmp_path: Path, name: str = "pc") -> Licentia:
    machine = FakeMachine(tmp_path / f"{name}-hw")
    return Licentia("http://127.0.0.1:9", "acme", vendor.public_key, tmp_path / name, fingerprint_root=machine.root)


def _mutations(text: str, count: int) -> Iterator[str]:
    """Damaged copies of a file: flipped characters inside the armor, and edited JSON values."""
    rng = random.Random(7)
    lines = text.splitlines()
    for _ in range(count):
        row = rng.randrange(1, len(lines) - 1)
        col = rng.randrange(len(lines[row]))
        edited = list(lines)
        edited[row] = lines[row][:col] + rng.choice("AZaz09-_+/=!é") + lines[row][col + 1 :]
        damaged = "\n".join(edited)
        try:
            same = airgap.unarmor(airgap.RESPONSE, damaged) == airgap.unarmor(airgap.RESPONSE, text)
        except airgap.InvalidOfflineFile:
            same = False
        if not same:  # the same character again, or only base64's unused padding bits: not damage
            yield damaged


def test_damaged_or_hostile_responses_raise_only_invalid_answer_and_grant_nothing(
    vendor: Vendor, tmp_path: Path
) -> None:
    app = computer(vendor, tmp_path)
    response = vendor.answer(app.activation_request(vendor.issue()))
    body = airgap.unarmor(airgap.RESPONSE, response)
    hostile: list[Any] = list(_mutations(response, 60))
    for field, value in [
        ("sealed", {"epk": "A" * 43, "nonce": "B" * 16, "ct": "C" * 80}),
        ("sealed", {"epk": 1, "nonce": [], "ct": None}),
        ("sealed", "x"),
        ("signed", {"document": {"a": [[[[[]]]]]}, "kid": "x", "sig": "y"}),
        ("request", 12),
        ("product", "other"),
    ]:
        hostile.append(airgap.armor(airgap.RESPONSE, {**body, field: value}))
    deep = "[" * 100_000 + "]" * 100_000
    hostile += [b"\xff\xfe", deep, airgap.armor(airgap.RESPONSE, {"v": 1}), response.replace("RESPONSE", "REQUEST")]
    hostile.append(
        "-----BEGIN LICENTIA ACTIVATION RESPONSE-----\n" + "A" * 70_000 + "\n-----END LICENTIA ACTIVATION RESPONSE-----"
    )
    for text in hostile:
        with pytest.raises(LicentiaError) as caught:
            app.install_activation(text)
        assert type(caught.value) in DOCUMENTED, text[:200] if isinstance(text, str) else text
        assert app.check(online=False).allowed is False
    assert app.install_activation(response).state == "registered"  # the genuine one still installs


def test_damaged_offline_keys_are_no_keys_never_a_crash(vendor: Vendor, tmp_path: Path) -> None:
    app = computer(vendor, tmp_path)
    response = vendor.answer(app.activation_request(vendor.issue()))
    keys = tmp_path / "pc" / OFFLINE_FILE
    for damage in (b"", b"{", b"[]", json.dumps({"format": 1, "pending": [{"nonce": 1, "box": "??"}]}).encode()):
        keys.write_bytes(damage)
        with pytest.raises(InvalidAnswer):
            app.install_activation(response)
    # A damaged key of a request that does exist: refused as not opening here, not a crash.
    pending = json.loads(
        json.dumps(
            {
                "format": 1,
                "pending": [
                    {"nonce": airgap.unarmor(airgap.RESPONSE, response)["request"], "box": "!!", "proof": "??"}
                ],
            }
        )
    )
    keys.write_text(json.dumps(pending))
    with pytest.raises(InvalidAnswer):
        app.install_activation(response)
    with pytest.raises(ConfigurationError):
        app.deactivate_offline()  # nothing activated here


def test_a_data_dir_that_is_a_file_raises_only_documented_errors(vendor: Vendor, tmp_path: Path) -> None:
    (tmp_path / "pc").write_text("not a directory")
    app = computer(vendor, tmp_path)
    with pytest.raises(ConfigurationError):
        app.activation_request(vendor.issue())
    with pytest.raises(InvalidKey):
        app.activation_request("not a key")
    with pytest.raises(InvalidAnswer):
        app.install_activation("nothing")


def test_the_client_cli_writes_installs_and_deactivates(
    vendor: Vendor, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    machine = FakeMachine(tmp_path / "hw")
    common = ["--server", "http://127.0.0.1:9", "--product", "acme", "--public-key", vendor.public_key]
    common += ["--data-dir", str(tmp_path / "data"), "--fingerprint-root", str(machine.root), "--timeout", "0.5"]

    def run(*args: str) -> tuple[int, str, str]:
        capsys.readouterr()
        code = client_main([*args, *common])
        out, err = capsys.readouterr()
        return code, out, err

    request, response, proof = (tmp_path / name for name in ("request.txt", "response.lic", "proof.txt"))
    assert run("activation-request", vendor.issue(), "-o", str(request))[0] == 0
    assert os.stat(request).st_mode & 0o777 == 0o600  # it carries the license key
    response.write_text(vendor.answer(request.read_text()))
    code, out, _ = run("activation-response", str(response))
    assert code == 0 and out.startswith("allowed: registered")
    assert run("check", "--offline")[0] == 0
    code, _, err = run("activation-response", str(response))  # answered: the request is no longer pending
    assert code == 1 and err == "licentia-client: not accepted: " + ANSWERED + "\n"
    assert run("deactivate", "--offline", "-o", str(proof))[0] == 0
    assert proof.read_text().startswith("-----BEGIN LICENTIA DEACTIVATION PROOF-----")
    assert run("check", "--offline")[0] == 1
    code, out, _ = run("activation-request", "ABCDE-FGHJK")  # a typo: caught before anything is written
    assert code == 1 and out == ""
