"""The words every client compares are the core's, and the server answers exactly those words.

``ClientErrorCode``, ``EventKind`` and ``DeviceStatus`` (``licentia.core.vocabulary``) are
enumerated once: the Python SDK imports them, the TypeScript and C clients include the constants
``conformance/generate.py`` writes from them (test_vectors.py holds those files fresh). Here: each
client error code is one the server sends on the public API, and no client spells a word itself.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from licentia.core.vocabulary import ClientErrorCode, DeviceStatus, EventKind
from licentia.server.errors import Api, ErrorCode

ROOT = Path(__file__).resolve().parents[2]
SDK = ROOT / "src" / "licentia" / "client"
ERROR_WORDS = {code.value for code in ErrorCode}
WORDS = ERROR_WORDS | {kind.value for kind in EventKind} | {status.value for status in DeviceStatus}


def test_every_client_error_code_is_a_code_the_public_api_answers() -> None:
    for code in ClientErrorCode:
        server = ErrorCode.of(code.value)  # KeyError: the server no longer sends this word
        assert server == code and server.name == code.name, code
        assert server.apis & Api.PUBLIC, f"{code} is not answered to applications"


def _literal_words(node: ast.AST) -> set[str]:
    return {n.value for n in ast.walk(node) if isinstance(n, ast.Constant) and n.value in WORDS}


def test_the_python_sdk_compares_and_reports_no_word_as_a_literal() -> None:
    """``exc.code == "..."``, ``kind == "..."``, ``queue.add("...")``, ``ServerRefused("...")``: enumerations only."""
    spelled = set()
    for path in sorted(SDK.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Compare):
                found = _literal_words(node)
            elif isinstance(node, ast.Call) and ast.unparse(node.func).endswith(("queue.add", "ServerRefused")):
                found = _literal_words(node.args[0]) if node.args else set()
            else:
                continue
            spelled |= {f"{path.relative_to(ROOT)}:{node.lineno} {word}" for word in found}
    # cli.py's sub-commands ("check", "deactivate", "feedback", "uninstall") are the CLI's words, not events.
    spelled = {s for s in spelled if not s.startswith("src/licentia/client/cli.py")}
    assert not spelled, sorted(spelled)


# Comparisons and reports in the other clients: `err.code === "x"`, `strcmp(refusal, "x")`, `add(c, "x", ...)`,
# `r.Code == "x"`, `queue.add("x", ...)` (the Go client's tests, `*_test.go`, spell the words they expect).
OTHER_CLIENTS = [
    ("clients/js/src", "*.ts", re.compile(r'(?:===|!==)\s*"(\w+)"|\.add\(\s*"(\w+)"')),
    ("clients/c/src", "*.c", re.compile(r'strcmp\([^;]*?"(\w+)"\)|(?:add|queue_and_send)\(\w+,\s*"(\w+)"')),
    ("clients/go", "*.go", re.compile(r'(?:==|!=)\s*"(\w+)"|\.add\(\s*"(\w+)"')),
]


@pytest.mark.parametrize(("folder", "pattern", "comparison"), OTHER_CLIENTS, ids=["typescript", "c", "go"])
def test_the_other_clients_compare_and_report_no_word_as_a_literal(
    folder: str, pattern: str, comparison: re.Pattern[str]
) -> None:
    spelled = {
        f"{path.relative_to(ROOT)}:{number} {word}"
        for path in sorted((ROOT / folder).glob(pattern))
        if not path.name.endswith("_test.go")
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        for match in comparison.finditer(line)
        for word in match.groups()
        if word in WORDS
    }
    assert not spelled, sorted(spelled)
