"""The layout keeps its promises: a pure core, dependencies that point one way, modules one can read.

core/ is shared by the SDK (inside every customer's application) and the
server: it must compute, never touch files, sockets, processes or the
environment. The server's packages depend downward (cli -> services ->
store -> core), never back up.
"""

from __future__ import annotations

import ast
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

SRC = Path(__file__).parents[1] / "src" / "licentia"
# What core/ may import: computation only (hashing, signing, encoding, dates, data classes).
CORE_MAY_IMPORT = {
    "__future__",
    "_datetime",  # the C classes datetime re-exports (core/clock.py)
    "_hashlib",  # the OpenSSL module hmac and hashlib call (core/digests.py)
    "_json",  # json's own C accelerator (core/canonical.py)
    "base64",
    "binascii",
    "collections",
    "cryptography",
    "dataclasses",
    "datetime",
    "enum",
    "functools",
    "hashlib",
    "hmac",
    "json",
    "licentia",
    "math",
    "nacl",
    "orjson",
    "re",
    "secrets",
    "string",
    "typing",
    "unicodedata",
}
# Built-ins that reach outside the process.
IO_BUILTINS = {"open", "print", "input", "exec", "eval", "__import__", "breakpoint"}
WARN_LINES, FAIL_LINES = 400, 800


def modules(package: Path) -> Iterator[Path]:
    yield from sorted(p for p in package.rglob("*.py") if "migrations" not in p.parts)


def imports(path: Path) -> Iterator[str]:
    """Every module ``path`` imports, at any depth (function-level imports included)."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module


def name(path: Path) -> str:
    return str(path.relative_to(SRC.parent))


def test_core_imports_nothing_that_does_io() -> None:
    found = {
        (name(path), module)
        for path in modules(SRC / "core")
        for module in imports(path)
        if module.split(".")[0] not in CORE_MAY_IMPORT
        or (module.startswith("licentia.") and not module.startswith("licentia.core"))
    }
    assert not found, f"core/ must stay pure: {sorted(found)}"


def test_core_calls_no_builtin_that_reaches_outside() -> None:
    calls = {
        (name(path), node.lineno, node.func.id)
        for path in modules(SRC / "core")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in IO_BUILTINS
    }
    assert not calls, sorted(calls)


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [
        ("core", ("licentia.client", "licentia.server")),
        ("client", ("licentia.server",)),
        ("server/store", ("fastapi", "starlette", "licentia.server.cli", "licentia.server.state")),
        ("server", ("licentia.cli",)),
    ],
)
def test_dependencies_point_one_way(package: str, forbidden: tuple[str, ...]) -> None:
    upward = {
        (name(path), module)
        for path in modules(SRC / package)
        for module in imports(path)
        if module.startswith(forbidden)
    }
    assert not upward, sorted(upward)


def test_only_the_cli_imports_the_cli() -> None:
    callers = {
        name(path)
        for path in modules(SRC / "server")
        if "cli" not in path.relative_to(SRC / "server").parts[:1]
        and any(module.startswith("licentia.server.cli") for module in imports(path))
    }
    assert not callers, sorted(callers)


@pytest.mark.filterwarnings("always::UserWarning")
def test_server_modules_stay_readable() -> None:
    sizes = {name(path): len(path.read_text(encoding="utf-8").splitlines()) for path in modules(SRC / "server")}
    for module, lines in sorted(sizes.items()):
        if WARN_LINES < lines <= FAIL_LINES:
            warnings.warn(f"{module} has {lines} lines: split it before it reaches {FAIL_LINES}", stacklevel=1)
    too_long = {module: lines for module, lines in sizes.items() if lines > FAIL_LINES}
    assert not too_long, f"modules over {FAIL_LINES} lines: {too_long}"


def test_the_app_state_is_read_through_its_type() -> None:
    """``state_of(app)`` or a dependency, never ``app.state.x``: one typed ``AppState`` (server/state.py)."""
    untyped = {
        f"{name(path)}:{node.lineno}"
        for path in modules(SRC / "server")
        if path.name not in ("state.py", "app.py")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Attribute) and node.attr == "state" and ast.unparse(node.value).endswith("app")
    }
    assert not untyped, sorted(untyped)


# Modules that still read the app state from the request, each with its reason. The status lane's code
# runs outside FastAPI's dependency machinery (a raw ASGI request, answered before routing), so it looks
# the state up itself; the others wait for their routes to take ``ClockDep``/``EngineDep``/``StateDep``.
READ_STATE_FROM_THE_REQUEST = {
    "licentia/server/devices/router.py": "the status lane (serve_status) takes no dependencies",
    "licentia/server/admin/signin/pages.py": "not converted yet",
    "licentia/server/portal/router.py": "not converted yet",
    "licentia/server/payments/router.py": "not converted yet",
    "licentia/server/web/frame.py": "now(request), cookie_secure(request): for admin/signin and portal/router",
    "licentia/server/portal/web.py": "network(request): for portal/router",
}


def _state_of_request(path: Path) -> list[int]:
    return [
        node.lineno
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Call)
        and ast.unparse(node.func) == "state_of"
        and any(ast.unparse(arg).startswith("request") for arg in node.args)
    ]


def test_routes_take_the_app_state_as_dependencies() -> None:
    """``clock: ClockDep``, ``engine: EngineDep``, ``state: StateDep``, never ``state_of(request.app)``.

    ``state_of(app)`` stays for the start-up tasks, which get the app.
    """
    found = {
        name(path): lines
        for path in modules(SRC / "server")
        if path.name not in ("state.py", "app.py") or path.parent != SRC / "server"
        if (lines := _state_of_request(path))
    }
    unexpected = {module: lines for module, lines in found.items() if module not in READ_STATE_FROM_THE_REQUEST}
    assert not unexpected, unexpected
    converted = sorted(set(READ_STATE_FROM_THE_REQUEST) - set(found))
    assert not converted, f"these no longer read state_of(request.app): take them off the list: {converted}"


def test_request_state_is_read_only_through_its_typed_accessors() -> None:
    """The signed-in admin and customer: ``signed_in_admin_of(request)``, ``signed_in_customer_of(request)``."""
    untyped = {
        f"{name(path)}:{node.lineno}"
        for path in modules(SRC / "server")
        if path != SRC / "server" / "state.py"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Attribute) and node.attr == "state" and ast.unparse(node.value).endswith("request")
    }
    assert not untyped, sorted(untyped)
