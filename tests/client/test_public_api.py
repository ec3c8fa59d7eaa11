"""The SDK's public surface: a sorted ``__all__``, one exception tree, no server imports."""

from __future__ import annotations

import ast
from pathlib import Path

import licentia.client as sdk
from licentia.client import _exceptions

CLIENT_DIR = Path(sdk.__file__).parent


def test_all_is_sorted_and_complete() -> None:
    assert sdk.__all__ == sorted(sdk.__all__)
    for name in sdk.__all__:
        assert getattr(sdk, name).__module__.startswith("licentia.client")
    public = {n for n in vars(sdk) if not n.startswith("_") and n[0].isupper()}
    assert public == set(sdk.__all__)


def test_every_error_is_a_licentia_error_and_drawn_in_the_docstring() -> None:
    errors = [obj for obj in vars(_exceptions).values() if isinstance(obj, type) and issubclass(obj, BaseException)]
    assert len(errors) >= 5
    doc = _exceptions.__doc__ or ""
    for error in errors:
        assert issubclass(error, sdk.LicentiaError)
        assert error.__name__ in doc
        assert error.__name__ in sdk.__all__


def test_the_client_never_imports_the_server() -> None:
    for path in CLIENT_DIR.rglob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            assert not any(n.startswith("licentia.server") for n in names), path


def test_modules_stay_small() -> None:
    for path in CLIENT_DIR.rglob("*.py"):
        assert len(path.read_text().splitlines()) < 400, path
