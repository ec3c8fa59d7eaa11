"""Audit actions are enumerated once (``AuditAction``), each with its sentence; the docs list them all."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest
from markupsafe import Markup

from licentia.server.admin.audit.examples import EXAMPLE_NAMES, EXAMPLES, ExampleEntry, action_table, example
from licentia.server.admin.audit.sentences import Linked, Names, plain, sentence
from licentia.server.audit import SENTENCES, AuditAction

ROOT = Path(__file__).parents[2]
SERVER = ROOT / "src" / "licentia" / "server"
RECORDERS = ("record", "audit.record", "ctx.audit", "self.audit")


def test_every_action_has_a_sentence_and_an_example() -> None:
    assert set(SENTENCES) == set(AuditAction)
    assert set(EXAMPLES) == set(AuditAction)
    assert len({action.value for action in AuditAction}) == len(AuditAction)


@pytest.mark.parametrize("action", list(AuditAction), ids=str)
def test_each_example_reads_as_a_sentence_of_its_own(action: AuditAction) -> None:
    words = Linked(EXAMPLE_NAMES)
    target_id, details = EXAMPLES[action]
    said = action.sentence(target_id, details, words)
    assert isinstance(said, Markup)  # every value went through the page's escaping
    # The page shows the enumeration's sentence, not the plain fallback for unknown actions.
    assert sentence(example(action), EXAMPLE_NAMES) == said
    text = plain(said)
    assert text[0].isupper() and "None" not in text and "?" not in text, text


@pytest.mark.parametrize("action", list(AuditAction), ids=str)
def test_an_entry_with_no_details_still_reads(action: AuditAction) -> None:
    """Rows written by older versions may lack details: the sentence says less, it does not fail."""
    said = action.sentence("7", {}, Linked(Names({}, {})))
    assert isinstance(said, Markup) and plain(said).strip()


def test_every_value_is_escaped_and_targets_are_linked() -> None:
    entry = ExampleEntry("license.revoke", "license", "12", {"devices_freed": 1, "reason": "<script>x</script>"})
    said = sentence(entry, EXAMPLE_NAMES)
    assert "<script>" not in said and "&lt;script&gt;" in said
    assert '<a href="/admin/licenses/12">license <code>QBR5L7XW…</code></a> of Bob (freed 1 machine)' in said


def test_an_action_this_version_does_not_know_is_shown_as_stored_and_escaped() -> None:
    said = sentence(ExampleEntry("widget.frob_all", "widget", "9", {"note": "<b>", "device": "x"}), EXAMPLE_NAMES)
    assert said == "frob all: widget 9 (note &lt;b&gt;)"


def _recording_calls(tree: ast.AST) -> list[ast.Call]:
    return [n for n in ast.walk(tree) if isinstance(n, ast.Call) and ast.unparse(n.func) in RECORDERS]


def test_no_call_site_writes_an_action_as_a_string() -> None:
    found: list[str] = []
    calls = 0
    values = {action.value for action in AuditAction}
    for path in SERVER.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for call in _recording_calls(tree):
            calls += 1
            # record(conn, action, target, ...) and ctx.audit(conn, action, target, ...): the action comes second.
            action = call.args[1] if len(call.args) > 1 else None
            if action is None or isinstance(action, ast.Constant | ast.JoinedStr | ast.BinOp):
                found.append(f"{path.relative_to(SERVER)}:{call.lineno} {ast.unparse(call)[:90]}")
        if path == SERVER / "audit.py":
            continue
        # Nor is an action compared or kept as a literal anywhere else (a history, a count of transfers).
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and node.value in values:
                found.append(f"{path.relative_to(SERVER)}:{node.lineno} the literal {node.value!r}")
    assert calls >= 40, "the scan no longer finds the audit calls"
    assert not found, found


def test_the_docs_table_of_actions_is_generated_from_the_enumeration() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "audit-table"), "--check"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    text = (ROOT / "docs" / "admin.md").read_text(encoding="utf-8")
    assert action_table() in text
    for action in AuditAction:
        assert f"`{action.value}`" in text, action
