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
    # Every name of __all__ was looked up above (Lease and Consumption load on first use).
    public = {n for n in vars(sdk) if not n.startswith("_") and n[0].isupper() and n != "TYPE_CHECKING"}
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


def test_answers_are_immutable_values_that_compare_hash_and_convert() -> None:
    import pickle

    import pytest

    status = sdk.Status(True, "trial", days_left=3, features=("pro",), latest_release={"version": "2.0"})
    same = sdk.Status(allowed=True, state="trial", days_left=3, features=("pro",))
    assert status == same and hash(status) == hash(same)  # the release shown is not part of the status
    assert status != sdk.Status(True, "registered") and status.has_feature("pro")
    assert status.as_dict()["days_left"] == 3 and "Status(allowed=True" in repr(status)
    with pytest.raises(AttributeError):
        status.allowed = False  # type: ignore[misc]
    assert pickle.loads(pickle.dumps(status)) == status
    assert sdk.FlushResult(1, 0, 0, 2).as_dict() == {"sent": 1, "duplicates": 0, "dropped": 0, "remaining": 2}


def test_importing_the_sdk_imports_nothing_an_offline_start_does_not_use() -> None:
    """Start-up is paid by every launch of every application (bench/cold_start.py measures it)."""
    import subprocess
    import sys

    heavy = ["dataclasses", "pathlib", "hashlib", "uuid", "urllib.request", "sqlite3", "logging", "nacl"]
    code = f"import sys, licentia.client; print(' '.join(m for m in {heavy!r} if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout.split() == []
