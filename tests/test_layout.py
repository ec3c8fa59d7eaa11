"""The layout keeps its promises: a pure core, dependencies that point one way, modules one can read.

core/ is shared by the SDK (inside every customer's application) and the
server: it must compute, never touch files, sockets, processes or the
environment. The server's packages depend downward, never back up: the
surfaces (admin UI, developer API, portal, CLI) on the domains, the domains
on store/ and the small modules at the server's root, store/ on nothing of
the server's but itself; only app/ (the wiring) imports a surface, and no
package or module imports itself back through others.
"""

from __future__ import annotations

import ast
import graphlib
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
SERVER = SRC / "server"
SURFACES = {"admin", "adminapi", "portal", "cli"}
# A module may pass this length only with a reason written here (a test keeps the list true).
MAX_LINES = 400
LONG_MODULES = {
    "server/store/models.py": "the whole schema in one place, each table beside its constraints and comments",
}


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


def test_server_modules_stay_readable() -> None:
    sizes = {str(path.relative_to(SRC)): len(path.read_text(encoding="utf-8").splitlines()) for path in modules(SERVER)}
    too_long = {m: n for m, n in sizes.items() if n > MAX_LINES and m not in LONG_MODULES}
    assert not too_long, f"split these, or write down why they are long (LONG_MODULES): {too_long}"
    stale = {m for m in LONG_MODULES if sizes.get(m, 0) <= MAX_LINES}
    assert not stale, f"no longer long, drop their reason: {sorted(stale)}"


def server_imports() -> dict[str, set[str]]:
    """Module -> the server modules it imports (function-level included; ``if TYPE_CHECKING:`` left out)."""
    return imports_under(SERVER)


def imports_under(package: Path) -> dict[str, set[str]]:
    """Module -> the modules of ``package`` it imports (function-level included; ``if TYPE_CHECKING:`` left out)."""
    names = {_dotted(path): path for path in modules(package)}
    graph: dict[str, set[str]] = {}
    for module, path in names.items():
        found = set()
        for imported in _runtime_imports(ast.parse(path.read_text(encoding="utf-8")), module, path):
            while imported and imported not in names:
                imported = imported.rpartition(".")[0]
            if imported and imported != module and not module.startswith(imported + "."):
                found.add(imported)
        graph[module] = found
    return graph


def _dotted(path: Path) -> str:
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _runtime_imports(tree: ast.AST, module: str, path: Path) -> Iterator[str]:
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.orelse:
                yield from _runtime_imports(child, module, path)
            continue
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([node.module] if node.module else [])])
            yield base
            yield from (f"{base}.{alias.name}" for alias in node.names)
        yield from _runtime_imports(node, module, path)


def package_of(module: str) -> str:
    """The server's top-level package (or root module) a module belongs to."""
    return module.removeprefix("licentia.server.").split(".")[0]


def test_only_the_wiring_imports_a_surface() -> None:
    """Domains never import the admin UI, the developer API, the portal or the CLI; surfaces not each other."""
    wrong = sorted(
        f"{m} -> {t}"
        for m, targets in server_imports().items()
        for t in targets
        if package_of(t) in SURFACES and package_of(m) not in (package_of(t), "app")
    )
    assert not wrong, wrong


def test_only_the_web_uis_use_the_page_frame() -> None:
    wrong = sorted(
        f"{m} -> {t}"
        for m, targets in server_imports().items()
        for t in targets
        if package_of(t) == "web" and package_of(m) not in ("web", "admin", "portal", "app")
    )
    assert not wrong, wrong


def test_the_store_imports_nothing_of_the_server_but_itself() -> None:
    wrong = sorted(
        f"{m} -> {t}"
        for m, targets in server_imports().items()
        if package_of(m) == "store"
        for t in targets
        if package_of(t) != "store"
    )
    assert not wrong, wrong


def test_no_module_imports_itself_back() -> None:
    """Over the whole package: the SDK, the core and the server."""
    try:
        graphlib.TopologicalSorter(imports_under(SRC)).prepare()
    except graphlib.CycleError as cycle:
        raise AssertionError(f"module cycle: {' -> '.join(cycle.args[1])}") from None


def test_no_package_imports_itself_back() -> None:
    packages: dict[str, set[str]] = {}
    for m, targets in server_imports().items():
        packages.setdefault(package_of(m), set()).update(
            package_of(t) for t in targets if package_of(t) != package_of(m) and t != "licentia.server"
        )
    try:
        graphlib.TopologicalSorter(packages).prepare()
    except graphlib.CycleError as cycle:
        raise AssertionError(f"package cycle: {' -> '.join(cycle.args[1])}") from None


def test_the_app_state_is_read_through_its_type() -> None:
    """``state_of(app)`` or a dependency, never ``app.state.x``: one typed ``AppState`` (server/state.py)."""
    untyped = {
        f"{name(path)}:{node.lineno}"
        for path in modules(SRC / "server")
        if path.name != "state.py" and path != SRC / "server" / "app" / "factory.py"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Attribute) and node.attr == "state" and ast.unparse(node.value).endswith("app")
    }
    assert not untyped, sorted(untyped)


# Modules that still read the app state from the request, each with its reason. The status lane's code
# runs outside FastAPI's dependency machinery (a raw ASGI request, answered before routing), so it looks
# the state up itself; every route takes ``ClockDep``/``EngineDep``/``StateDep`` instead.
READ_STATE_FROM_THE_REQUEST = {
    "licentia/server/devices/router.py": "the status lane (serve_status) takes no dependencies",
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
        if path not in (SRC / "server" / "state.py", SRC / "server" / "app" / "factory.py")
        if (lines := _state_of_request(path))
    }
    unexpected = {module: lines for module, lines in found.items() if module not in READ_STATE_FROM_THE_REQUEST}
    assert not unexpected, unexpected
    converted = sorted(set(READ_STATE_FROM_THE_REQUEST) - set(found))
    assert not converted, f"these no longer read state_of(request.app): take them off the list: {converted}"


def test_request_state_is_read_only_through_its_typed_accessors() -> None:
    """The signed-in admin and customer live in typed slots (``state.RequestSlot``), never bare ``request.state``."""
    untyped = {
        f"{name(path)}:{node.lineno}"
        for path in modules(SRC / "server")
        if path != SRC / "server" / "state.py"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Attribute) and node.attr == "state" and ast.unparse(node.value).endswith("request")
    }
    assert not untyped, sorted(untyped)
