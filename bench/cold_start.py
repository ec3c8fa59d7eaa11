"""How long does a new process take, next to an empty ``python -c pass``?

Run: ``python bench/cold_start.py [--runs 31] [--top 15] [--only NAME ...] [--python PATH] [--against DIR]``.
``--python`` measures with another interpreter, e.g. a virtual environment
holding only the SDK's base install (``pip install licentia``), which is what
an application ships: the server's extras (orjson, FastAPI, ...) change the figures.
``--against DIR`` also runs the SDK's commands on another checkout's sources
(``DIR/src`` first on ``PYTHONPATH``), in the same shuffled rounds: a change
measured side by side, e.g. ``git worktree add /tmp/before main`` and
``--against /tmp/before --only pass SDK offline``.

Start-up is paid on every launch of every customer's application and on
every CLI call, so each command below is measured as whole processes: all
commands and the baseline run in one shuffled round, rounds repeat ``--runs``
times, and the table shows each command's median wall time and CPU time (user + system,
which a busy shared machine disturbs least) with their ratios to the
baseline's, and the median of the per-round wall ratios (which shrugs off a
round the machine was busy in). Then ``-X importtime`` shows where each
command's import time goes: the modules with the largest own time.

Two suites: the SDK (an application's start) and the ``licentia`` command's
read-only commands (``--only cli:`` runs just those). To measure more
commands, add a function to ``SUITES`` that takes a scratch directory, the
interpreter and ``--against``'s checkout (or None), and returns ``Command``s.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Command:
    """One command line measured against ``python -c pass``; ``target`` is the ratio it must stay within."""

    name: str
    argv: list[str]
    target: float | None = None
    profile: bool = True  # show its -X importtime profile
    env: dict[str, str] = field(default_factory=dict)


def python_code(python: str, name: str, code: str, target: float | None = None, *, profile: bool = True) -> Command:
    return Command(name, [python, "-c", code], target, profile)


def importable(python: str, module: str) -> bool:
    return subprocess.run([python, "-c", f"import {module}"], capture_output=True, check=False).returncode == 0


def sdk_suite(scratch: Path, python: str, against: Path | None = None) -> list[Command]:
    """The SDK: importing it, and an application's start that checks offline from a stored document."""
    sys.path.insert(0, str(Path(__file__).parent))
    from offline_check import PRODUCT, stored_document

    from licentia.core.signing import SigningKey

    key = SigningKey.generate()
    data_dir = scratch / "sdk-data"
    stored_document(data_dir, key)
    check = (
        "from licentia.client import Licentia\n"
        f"s = Licentia('http://127.0.0.1:9', {PRODUCT!r}, {key.export_public()!r}, {str(data_dir)!r})"
        ".check(online=False)\n"
        "assert s.allowed, s\n"
    )
    # The same start with the default data directory (platformdirs' folder, found by its rule).
    default_dir = scratch / "xdg" / PRODUCT
    stored_document(default_dir, key)
    default_check = check.replace(f", {str(data_dir)!r})", ")")
    # A reinstall's first start: no state in the data folder, the credential in the escrow (the file
    # the SDK keeps where no OS credential store works), the server away: it reads the escrow (keyring's
    # discovery of a store included) and tries the server before deciding offline.
    reinstall_dir, config = scratch / "reinstall-data", scratch / "config"
    reinstall = (
        "from licentia.client import Licentia\n"
        f"lic = Licentia('http://127.0.0.1:9', {PRODUCT!r}, {key.export_public()!r}, {str(reinstall_dir)!r})\n"
        "assert lic.escrow.load() is not None\n"
        "assert lic.check().reason == 'no_document'\n"
    )
    escrow_entry(reinstall_dir, config)
    commands = [
        python_code(python, "import licentia.client", "import licentia.client"),
        python_code(python, "import licentia.client + offline check()", check, target=2.0),
        Command(
            "... with the default data_dir",
            [python, "-c", default_check],
            2.0,
            env={"XDG_DATA_HOME": str(scratch / "xdg")},
        ),
        Command(
            "reinstall start: escrow read, server away",
            [python, "-c", reinstall],
            env={"XDG_CONFIG_HOME": str(config)},
        ),
    ]
    if against is not None:  # the same start on another checkout's sources
        other = {"PYTHONPATH": str(against / "src")}
        commands += [
            Command(f"{against.name}: import licentia.client", [python, "-c", "import licentia.client"], env=other),
            Command(f"{against.name}: import + offline check()", [python, "-c", check], env=other),
            Command(
                f"{against.name}: ... with the default data_dir",
                [python, "-c", default_check],
                env={**other, "XDG_DATA_HOME": str(scratch / "xdg")},
            ),
        ]
    # Floors, for the report: what merely importing an Ed25519 verifier costs (the first two are
    # what the SDK does not load; the last two are the compiled modules an offline check cannot do
    # without: libsodium for the signature, OpenSSL for the fingerprint's and the seal's HMAC-SHA256).
    floors = {
        "cryptography's Ed25519": "cryptography.hazmat.primitives.asymmetric.ed25519",
        "PyNaCl's bindings (public API)": "nacl.bindings",
        "libsodium (nacl._sodium)": "nacl._sodium",
        "OpenSSL's hashes (_hashlib)": "_hashlib",
    }
    for label, module in floors.items():
        if importable(python, module):
            commands.append(python_code(python, f"floor: import {label}", f"import {module}", profile=False))
    return commands


def escrow_entry(data_dir: Path, config: Path) -> None:
    """The credential escrow's file for an installation at ``data_dir`` (never the OS's real store)."""
    from offline_check import PRODUCT

    from licentia.client.escrow import Escrow
    from licentia.client.fingerprint import absolute_path
    from licentia.core.fingerprint import data_path_hash

    saved = os.environ.get("XDG_CONFIG_HOME")
    os.environ["XDG_CONFIG_HOME"] = str(config)
    try:
        escrow = Escrow("http://127.0.0.1:9", PRODUCT, data_path_hash(PRODUCT, absolute_path(data_dir)))
        escrow._write_file('{"device": "dv_0f3a9c5e7b2d4a61", "secret": "s3cr3t", "server": "http://127.0.0.1:9", '
                           f'"product": "{PRODUCT}", "data_path": "{escrow.data_path}"}}')  # fmt: skip
    finally:
        if saved is None:
            del os.environ["XDG_CONFIG_HOME"]
        else:
            os.environ["XDG_CONFIG_HOME"] = saved


def cli_suite(scratch: Path, python: str, _against: Path | None = None) -> list[Command]:
    """``licentia``'s read-only commands on a small demo database (target: 4x ``python -c pass``).

    They import the standard library and the database driver only (no FastAPI, SQLAlchemy or
    pydantic; see src/licentia/server/store/snapshot.py). Each runs the installed ``licentia``
    script, from bytecode as after ``pip install``: an empty PYTHONDONTWRITEBYTECODE lets the
    warm-up round write the .pyc files. ``--only cli:`` runs just these.
    """
    if not importable(python, "sqlalchemy"):
        print(f"(no 'licentia' commands: {python} has only the SDK, not the server extra)", file=sys.stderr)
        return []
    script = Path(python).with_name("licentia")
    licentia = [python, str(script)] if script.exists() else [python, "-m", "licentia"]
    data = ["--data-dir", str(scratch / "cli-data")]
    env = {k: v for k, v in os.environ.items() if not k.startswith("LICENTIA_")}

    def run(*args: str) -> str:
        done = subprocess.run([*licentia, *args, *data], env=env, check=True, capture_output=True, text=True)
        return done.stdout

    run("demo", "--devices", "200", "--days", "30")
    key = run("license", "issue", "--product", "my-app", "--email", "bench@example.com").strip()
    device = run("device", "list", "--limit", "1").split("\t")[0]
    commands = {
        "--help": ["--help"],
        "license list": ["license", "list", *data],
        "license list --prefix KEY": ["license", "list", "--prefix", key[:5], *data],
        "device show ID": ["device", "show", device, *data],
        "device list": ["device", "list", *data],
        "product show my-app": ["product", "show", "my-app", *data],
        "product list": ["product", "list", *data],
    }
    quick = {"PYTHONDONTWRITEBYTECODE": ""}
    return [Command(f"cli: licentia {name}", [*licentia, *args], 4.0, env=quick) for name, args in commands.items()]


# Each suite gets a scratch directory and the interpreter, and returns the commands it wants measured.
# (``against``: --against's checkout, for the suites that measure one.)
SUITES: list[Callable[[Path, str, Path | None], list[Command]]] = [sdk_suite, cli_suite]


def environment(command: Command) -> dict[str, str]:
    """The command's environment, with bytecode caching on.

    An installed application runs from compiled ``.pyc`` files (pip writes them
    at install); with ``PYTHONDONTWRITEBYTECODE`` set, every start would
    compile the SDK's sources again and measure that instead.
    """
    env = {**os.environ, **command.env}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def run_once(command: Command) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one run. CPU time is what a busy shared machine disturbs least."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(command.argv, check=True, stdout=subprocess.DEVNULL, env=environment(command))
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def measure(baseline: Command, commands: Sequence[Command], runs: int) -> dict[str, list[tuple[float, float]]]:
    """(wall, CPU) per run and command; each round runs the baseline and every command once, shuffled."""
    everything = [baseline, *commands]
    for command in everything:
        run_once(command)  # warm the page cache and write the .pyc files
    times: dict[str, list[tuple[float, float]]] = {c.name: [] for c in everything}
    for _ in range(runs):
        order = list(everything)
        random.shuffle(order)
        for command in order:
            times[command.name].append(run_once(command))
    return times


def import_profile(command: Command, runs: int = 5) -> list[tuple[str, float, float]]:
    """(module, median own us, median cumulative us), largest own time first."""
    own: dict[str, list[float]] = {}
    cumulative: dict[str, list[float]] = {}
    argv = [command.argv[0], "-X", "importtime", *command.argv[1:]]
    for _ in range(runs):
        done = subprocess.run(argv, check=True, capture_output=True, text=True, env=environment(command))
        for line in done.stderr.splitlines():
            if not line.startswith("import time:") or "self [us]" in line:
                continue
            self_us, cumulative_us, name = line[len("import time:") :].split("|")
            own.setdefault(name.strip(), []).append(float(self_us))
            cumulative.setdefault(name.strip(), []).append(float(cumulative_us))
    rows = [(name, statistics.median(own[name]), statistics.median(cumulative[name])) for name in own]
    return sorted(rows, key=lambda row: row[1], reverse=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=31, help="rounds (each runs every command once)")
    parser.add_argument("--top", type=int, default=15, help="modules shown per import profile")
    parser.add_argument("--only", nargs="*", default=None, help="names (substrings) of the commands to run")
    parser.add_argument("--python", default=sys.executable, help="the interpreter to measure with")
    parser.add_argument("--against", type=Path, default=None, help="another checkout whose SDK is measured too")
    args = parser.parse_args(argv)
    against = args.against.resolve() if args.against else None
    baseline = Command("python -c pass", [args.python, "-c", "pass"])
    with tempfile.TemporaryDirectory() as tmp:
        commands = [command for suite in SUITES for command in suite(Path(tmp), args.python, against)]
        if args.only:
            commands = [c for c in commands if any(part in c.name for part in args.only)]
        times = measure(baseline, commands, args.runs)
        base = times[baseline.name]
        print(f"{args.python}: {args.runs} rounds; medians of whole processes (wall and CPU time)\n")
        print(f"{'command':48} {'wall':>8} {'ratio':>6} {'CPU':>8} {'ratio':>6} {'per round':>9}  target")
        missed = 0
        for command in [baseline, *commands]:
            mine = times[command.name]
            wall, cpu = (statistics.median(run[i] for run in mine) for i in (0, 1))
            wall_ratio = wall / statistics.median(run[0] for run in base)
            cpu_ratio = cpu / statistics.median(run[1] for run in base)
            per_round = statistics.median(m[0] / b[0] for m, b in zip(mine, base, strict=True))
            verdict = ""
            if command.target is not None:
                met = min(per_round, cpu_ratio) <= command.target
                missed += not met
                verdict = f"<= {command.target:.1f}x {'met' if met else 'MISSED'}"
            print(
                f"{command.name:48} {wall * 1e3:6.1f}ms {wall_ratio:5.2f}x {cpu * 1e3:6.1f}ms {cpu_ratio:5.2f}x"
                f" {per_round:8.2f}x  {verdict}"
            )
        for command in commands:
            if not command.profile:
                continue
            print(f"\nimport profile of {command.name!r} (median of 5, own / cumulative ms):")
            for name, own_us, cumulative_us in import_profile(command)[: args.top]:
                print(f"  {own_us / 1e3:7.2f} {cumulative_us / 1e3:7.2f}  {name}")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
