"""Error codes are enumerated once (``ErrorCode``): every answer's status is its code's, and the docs list them all."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path
from typing import Any

from licentia.server.errors import Api, ErrorCode, error_table
from tests.server.helpers import Installation

ROOT = Path(__file__).parents[2]
SERVER = ROOT / "src" / "licentia" / "server"
# A code answered with another status than its own where its meaning says so.
OTHER_STATUSES = {ErrorCode.LICENSE_REVOKED: {409}}


def test_the_docs_error_tables_are_generated_from_the_enumeration() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "error-tables"), "--check"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    web_api = (ROOT / "docs" / "web-api.md").read_text()
    assert error_table(Api.PUBLIC) in web_api and "`too_many_devices`" in web_api
    assert error_table(Api.DEVELOPER) in (ROOT / "docs" / "developer-api.md").read_text()


def test_every_code_is_answered_somewhere_and_every_answer_has_a_listed_code() -> None:
    named: set[str] = set()
    values = {code.value for code in ErrorCode}
    for path in SERVER.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "ErrorCode":
                named.add(node.attr)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in values:
                named.add(ErrorCode.of(node.value).name)
    unused = {code.value for code in ErrorCode if code.name not in named} - {"http_error"}
    assert not unused, f"enumerated but never answered: {sorted(unused)}"
    assert all(code.apis for code in ErrorCode) and all(code.meaning for code in ErrorCode)


# ``errors.existing(row, ErrorCode.X, message)`` raises the code its caller names: its call is checked instead.
RAISES_ITS_CALLERS_CODE = "errors.py ApiError(code, message)"


def test_every_error_names_its_member_and_keeps_its_status() -> None:
    """``ApiError(ErrorCode.X, message)``: no bare strings, no status but the code's own (or a documented one)."""
    found: list[str] = []
    for path in SERVER.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (
                isinstance(node, ast.Call) and ast.unparse(node.func) in ("ApiError", "super().__init__", "existing")
            ):
                continue
            args = node.args[1:] if ast.unparse(node.func) == "existing" else node.args
            if not args or not isinstance(args[0], ast.Attribute):
                if ast.unparse(node.func) != "super().__init__" and f"{path.name} {ast.unparse(node)}" != (
                    RAISES_ITS_CALLERS_CODE
                ):
                    found.append(f"{path.name}:{node.lineno} {ast.unparse(node)[:80]}")
                continue
            first = args[0]
            if not (isinstance(first.value, ast.Name) and first.value.id == "ErrorCode"):
                continue
            status = args[2] if len(args) > 2 else None
            status = status or next((k.value for k in node.keywords if k.arg == "status"), None)
            code = ErrorCode[first.attr]
            if status is not None and (
                not isinstance(status, ast.Constant) or status.value not in OTHER_STATUSES.get(code, ())
            ):
                found.append(f"{path.name}:{node.lineno} {code.value} with status {ast.unparse(status)}")
    assert not found, found


def _status_matches(response: Any) -> str:
    if response.status_code == 200:
        return ""
    code = ErrorCode.of(response.json()["error"]["code"])
    assert response.status_code == code.status or response.status_code in OTHER_STATUSES.get(code, ()), (
        f"{code} answered {response.status_code}, enumerated as {code.status}"
    )
    return code.value


def test_answers_carry_their_codes_status(client: Any, product: Any) -> None:
    app = Installation(client, product.public_key)
    app.check()
    answers = [
        client.get("/v1/nothing-here"),
        client.get("/v1/check"),
        client.post("/v1/check", content=b"{not json", headers={"content-type": "application/json"}),
        client.post("/v1/check", json={"product": 7}),
        client.post("/v1/check", json={"product": "no-such-product", "device_id": "x"}),
        client.post("/v1/check", json={"product": "acme", "device_id": "customer-1"}),
        client.post("/v1/check", json={"product": "acme", "device_id": "customer-1"}),
        app.call("/v1/activate", key="AAAAA-AAAAA-AAAAA-AAAAA-AAAAA"),
        client.get("/v1/admin/licenses/1"),
        client.get("/v1/admin/licenses/1", headers={"Authorization": "Bearer lct_nope_nope"}),
    ]
    codes = [_status_matches(response) for response in answers]
    assert codes == [
        "not_found",
        "method_not_allowed",
        "malformed_json",
        "validation_error",
        "unknown_product",
        "",  # first contact with a caller-chosen device id: a new device in trial
        "device_credential_required",  # the same id again, without the credential it was given
        "invalid_key",
        "missing_token",
        "invalid_token",
    ]


def test_a_code_that_slipped_past_the_enumeration_still_answers_4xx() -> None:
    """mypy and the test above refuse it; a running server must still never answer 500 for it."""
    from licentia.server.errors import ApiError, api_error_response

    unlisted: Any = "not_yet_enumerated"
    answer = api_error_response(ApiError(unlisted, "a product already has this policy", 409))
    assert answer.status_code == 409 and b'"code":"not_yet_enumerated"' in answer.body
    assert api_error_response(ApiError(unlisted, "no status given")).status_code == 400
