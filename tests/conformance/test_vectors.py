"""The Python core and SDK against the conformance vectors every client must pass.

The vectors (``conformance/vectors.json``) are what the TypeScript and C
clients are tested with; here the Python side proves they are current (the
checked-in file is exactly what ``conformance/generate.py`` writes now) and
that its own public functions give the recorded answers.
"""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from licentia.client.hardware import read_hardware
from licentia.core.canonical import canonical_json
from licentia.core.clock import from_iso
from licentia.core.fingerprint import component_hash, matches, required_matches
from licentia.core.licensekeys import KeyFormatError, normalize_key
from licentia.core.signing import InvalidDocument, load_public_key, verify_document

CONFORMANCE = Path(__file__).resolve().parents[2] / "conformance"
VECTORS: dict[str, Any] = json.loads((CONFORMANCE / "vectors.json").read_text("ascii"))
# Sections on their way into vectors.json (conformance/README.md): run here like the others.
PENDING: dict[str, Any] = json.loads((CONFORMANCE / "vectors-pending.json").read_text("ascii"))


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("conformance_generate", CONFORMANCE / "generate.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _named(cases: list[dict[str, Any]]) -> Callable[[Callable[..., None]], Callable[..., None]]:
    return pytest.mark.parametrize("case", cases, ids=[c["name"] for c in cases])


def test_checked_in_vectors_and_clients_words_are_what_the_core_generates_now() -> None:
    """vectors.json, clients/js/src/vocabulary.ts and clients/c/include/licentia_vocabulary.h."""
    generator = _generator()
    assert set(generator.outputs()) == {
        generator.VECTORS,
        generator.PENDING_VECTORS,
        generator.TYPESCRIPT_WORDS,
        generator.C_WORDS,
    }
    stale = [
        str(path.relative_to(CONFORMANCE.parent))
        for path, fresh in generator.outputs().items()
        if not path.exists() or path.read_bytes() != fresh
    ]
    assert not stale, f"stale: {stale}; run: python conformance/generate.py"


def test_a_hand_edited_generated_file_is_reported_stale(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    generator = _generator()
    files = {"VECTORS": tmp_path / "vectors.json", "TYPESCRIPT_WORDS": tmp_path / "vocabulary.ts",
             "C_WORDS": tmp_path / "licentia_vocabulary.h",
             "PENDING_VECTORS": tmp_path / "vectors-pending.json"}  # fmt: skip
    monkeypatch.setattr(generator, "HERE", tmp_path)
    for name, path in files.items():
        monkeypatch.setattr(generator, name, path)
    monkeypatch.setattr(generator, "build", lambda: b"{}\n")  # the vectors take seconds; the words are the point
    monkeypatch.setattr(generator, "build_pending", lambda: b"{}\n")
    assert generator.main([]) == 0
    assert generator.main(["--check"]) == 0
    header = files["C_WORDS"]
    header.write_text(header.read_text().replace('"too_many_devices"', '"too_many_seats"'))
    assert generator.main(["--check"]) == 1
    assert generator.main([]) == 0 and generator.main(["--check"]) == 0


# The sections this runner runs. A section it does not know fails the run: a new rule in the
# vectors is a rule every client must follow, so no runner may skip it quietly.
RUN = {
    "canonical", "signatures", "fingerprints", "license_keys", "linux_readers", "offline", "online",
    # Built in conformance/sections/, run by test_sections_of_the_sdk.
    "credentials", "latest_release", "last_seen", "entitlements", "licensee", "data_paths", "consumption", "state",
    "leases", "airgapped", "hardware_readers", "installer_tickets",
    "proxy_trail",
}  # fmt: skip
# Each module's ``expected`` runs the Python SDK on a case's inputs.
_BUILT = {**_generator().SECTIONS, **_generator().PENDING}
SECTIONS: dict[str, ModuleType] = {name: module for name, module in _BUILT.items() if name in RUN}
CASES: dict[str, Any] = {**VECTORS, **PENDING}


def test_the_runner_runs_every_section_of_the_vectors() -> None:
    sections = set(CASES) - {"format", "about"}
    assert sections == RUN, f"not run here: {sorted(sections - RUN)}; gone: {sorted(RUN - sections)}"


def test_the_file_holds_no_nul_character_of_its_own() -> None:
    """Jansson (the C client's parser) refuses a file with a NUL in a string; texts inside may hold one."""
    assert "\\u0000" not in (CONFORMANCE / "vectors.json").read_text("ascii").replace("\\\\u0000", "")


def test_every_section_has_valid_and_invalid_cases() -> None:
    assert {c["valid"] for c in VECTORS["signatures"]} == {True, False}
    assert {c["valid"] for c in VECTORS["license_keys"]} == {True, False}
    assert {"error" in c for c in VECTORS["canonical"]} == {True, False}
    assert {c["expected"]["allowed"] for c in VECTORS["offline"]} == {True, False}
    assert {c["expected"]["accepted"] for c in VECTORS["online"]} == {True, False}
    assert {c["expected"]["valid"] for c in VECTORS["credentials"]} == {True, False}
    assert {c["expected"]["release"] is None for c in VECTORS["latest_release"]} == {True, False}
    assert {c["expected"]["rollback"] for c in VECTORS["last_seen"]} == {True, False}
    assert {c["expected"]["corrupt"] for c in VECTORS["state"]} == {True, False}
    assert {c["expected"]["accepted"] for c in VECTORS["leases"]} == {True, False}
    assert {(c["mode"], c["expected"].get("accepted")) for c in VECTORS["airgapped"]} == {
        ("request", None),
        ("response", True),
        ("response", False),
    }
    outcomes = {c["expected"]["outcome"] for c in VECTORS["consumption"]}
    assert outcomes == {"consumed", "invalid_answer", "quota_exceeded", "check_and_retry", "refused", "offline"}
    assert {c["os"] for c in VECTORS["data_paths"]} == {"posix", "windows"}
    assert {c["os"] for c in VECTORS["hardware_readers"]} == {"macos", "windows"}
    assert {c["expected"]["send"] for c in VECTORS["installer_tickets"]} == {True, False}
    trail = CASES["proxy_trail"]
    assert {len(c["expected"]["targets"]) for c in trail if c["kind"] == "targets"} >= {1, 2, 3}
    assert {c["expected"]["send"] for c in trail if c["kind"] == "usage_once"} == {True, False}


@_named(VECTORS["canonical"])
def test_canonical_json(case: dict[str, Any]) -> None:
    if case.get("error"):
        with pytest.raises((TypeError, ValueError)):
            canonical_json(json.loads(case["json"]))
    else:
        assert canonical_json(json.loads(case["json"])) == case["canonical"].encode("utf-8")


@_named(VECTORS["signatures"])
def test_signed_documents(case: dict[str, Any]) -> None:
    keys = dict(load_public_key(text) for text in case["pinned"])
    at = from_iso(case["at"]) if case["at"] else None
    if not case["valid"]:
        with pytest.raises(InvalidDocument):
            verify_document(case["signed"], keys, product=case["product"], at_time=at)
        return
    payload = verify_document(case["signed"], keys, product=case["product"], at_time=at)
    assert canonical_json(payload).decode("utf-8") == case["payload_canonical"]


@_named(VECTORS["fingerprints"]["hashes"])
def test_component_hashes(case: dict[str, Any]) -> None:
    assert component_hash(case["product"], case["name"], case["raw"]) == case["hash"]


@_named(VECTORS["fingerprints"]["matching"])
def test_fingerprint_tolerance(case: dict[str, Any]) -> None:
    assert required_matches(case["presented"], case["min_match"]) == case["required"]
    assert matches(case["stored"], case["presented"], case["min_match"]) is case["matches"]


@_named(VECTORS["license_keys"])
def test_license_key_check_characters(case: dict[str, Any]) -> None:
    if case["valid"]:
        assert normalize_key(case["input"]) == case["normalized"]
    else:
        with pytest.raises(KeyFormatError):
            normalize_key(case["input"])


@pytest.mark.parametrize(
    ("section", "case"),
    [(name, case) for name in sorted(SECTIONS) for case in CASES.get(name, [])],
    ids=[f"{name}: {case['name']}" for name in sorted(SECTIONS) for case in CASES.get(name, [])],
)
def test_sections_of_the_sdk(section: str, case: dict[str, Any]) -> None:
    """The Python SDK gives each case's recorded answer (``expected``) from its inputs."""
    assert SECTIONS[section].expected(case) == case["expected"]


@_named(VECTORS["linux_readers"])
def test_linux_readers(case: dict[str, Any], tmp_path: Path) -> None:
    """The SDK's Linux readers (``client.hardware.linux``) read the recorded raw values from the fake tree."""
    _generator().plant_tree(tmp_path, case)
    raw = read_hardware(Path(case["data_dir"]), tmp_path)
    assert {"machine": raw.machine, "disk": raw.disk, "cpu": raw.cpu, "mac": raw.mac} == case["expected"]


@_named(VECTORS["offline"])
def test_offline_decisions(case: dict[str, Any]) -> None:
    status = _generator().decide_offline(case)
    got = {
        "allowed": status.allowed,
        "state": status.state,
        "reason": status.reason,
        "days_left": status.days_left,
        "features": list(status.features),
    }
    assert got == case["expected"]


def test_online_answers_cover_acceptance_and_every_refusal() -> None:
    refusals = {c["expected"]["refusal"] for c in VECTORS["online"]}
    assert refusals == {None, "nonce_mismatch", "other_installation", "other_machine", "invalid_document"}
    offsets = {c["expected"]["offset_seconds"] for c in VECTORS["online"] if c["expected"]["accepted"]}
    assert {18000, 172800, -18000} <= offsets


@_named(VECTORS["online"])
def test_online_answers(case: dict[str, Any]) -> None:
    """The SDK's own binding (``client.answers.Asked``) and the core's rules give the recorded answer."""
    why, offset, status = _generator().decide_online(case)
    expected = case["expected"]
    assert (why is None, why, offset) == (expected["accepted"], expected["refusal"], expected["offset_seconds"])
    if status is not None:
        assert _generator()._verdict(status) == expected["status"]
