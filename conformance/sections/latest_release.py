"""``latest_release``: the server's answer to ``GET /v1/releases/latest``, as the application sees it.

A release is shown to the user, so a client keeps only its known fields, each of its type or
null, and a download link only when it is a plain ``https://`` URL (``client.status.release_of``).
"""

from __future__ import annotations

import json
from typing import Any

from licentia.client._exceptions import InvalidAnswer
from licentia.client.status import release_of
from licentia.client.transport import parse_answer

GOOD = {
    "version": "2.4.1",
    "channel": "stable",
    "released_at": "2026-02-20T09:00:00Z",
    "download_url": "https://downloads.example.com/my-app/2.4.1/my-app-2.4.1.dmg",
    "notes": "Faster start.\nFixes a crash when \u00ab\u4e2d\u6587\u00bb names a project.",
    "newer": True,
    "maintenance": None,
}


def _answer(**changes: Any) -> str:
    return json.dumps({**GOOD, **changes}, ensure_ascii=False, separators=(",", ":"))


def _inputs() -> list[tuple[str, str]]:
    """(name, the server's answer as text)."""
    maintenance = {"until": "2026-06-01T00:00:00Z", "newer_release": {"version": "3.0.0", "channel": "stable"}}
    return [
        ("a release, every field", _answer()),
        ("as an older server answers: nulls", _answer(released_at=None, download_url=None, notes=None, newer=None)),
        ("no newer field (no current version asked)", json.dumps({"version": "2.4.1", "channel": "stable"})),
        ("maintenance and unknown fields are dropped", _answer(maintenance=maintenance, size=81234567, sha256="ab")),
        ("an http link is dropped", _answer(download_url="http://downloads.example.com/my-app.dmg")),
        ("a javascript: link is dropped", _answer(download_url="javascript:alert(document.cookie)")),
        ("a file: link is dropped", _answer(download_url="file:///C:/Windows/System32/cmd.exe")),
        ("a data: link is dropped", _answer(download_url="data:text/html,<script>alert(1)</script>")),
        ("an upper-case HTTPS scheme is dropped", _answer(download_url="HTTPS://downloads.example.com/a.dmg")),
        ("a link with a leading space is dropped", _answer(download_url=" https://downloads.example.com/a.dmg")),
        ("a link with a space inside is dropped", _answer(download_url="https://downloads.example.com/a b.dmg")),
        ("a link with a line feed is dropped", _answer(download_url="https://example.com/a\nSet-Cookie: x")),
        ("a link with non-ASCII is dropped", _answer(download_url="https://d\u00f6wnloads.example.com/a.dmg")),
        ("https:// alone is dropped", _answer(download_url="https://")),
        ("a link of 2000 characters is kept", _answer(download_url="https://example.com/" + "a" * 1980)),
        ("a link of 2001 characters is dropped", _answer(download_url="https://example.com/" + "a" * 1981)),
        ("a link that is not text is dropped", _answer(download_url=["https://example.com/a.dmg"])),
        ("newer as a number is dropped", _answer(newer=1)),
        ("newer as text is dropped", _answer(newer="true")),
        ("notes as a list are dropped", _answer(notes=["Faster start."])),
        ("a version number is no release", _answer(version=2)),
        ("an empty version is no release", _answer(version="")),
        ("no version is no release", json.dumps({"version": None, "channel": "stable"})),
        ("an empty answer is no release", "{}"),
        ("a list is no release", "[" + _answer() + "]"),
        ("not JSON", _answer()[:-1]),
    ]


def expected(case: dict[str, Any]) -> dict[str, Any]:
    """What ``Licentia.latest_release()`` returns for the answer, or that it raises ``InvalidAnswer``."""
    try:
        answer = parse_answer(case["answer"].encode("utf-8"), "the server")
    except InvalidAnswer:
        return {"invalid_answer": True, "release": None}
    return {"invalid_answer": False, "release": release_of(answer)}


def cases() -> list[dict[str, Any]]:
    out = []
    for name, answer in _inputs():
        case: dict[str, Any] = {"name": name, "answer": answer}
        case["expected"] = expected(case)
        out.append(case)
    return out
