"""What an offline check and a start cost in each client, next to a bare program of its language.

Run: ``python bench/clients_offline.py [--rounds 15] [--calls 400] [--only js c go java]``.

For each client in ``clients/`` (TypeScript, C, Go, Java) it builds, in a temporary directory
(nothing is written into the checkout), the client and the small program of
``bench/clients/<lang>/``, then stores a signed status document for this machine (a throw-away
product key, no server) as the SDK's state, one data directory per client, and checks first that
each client accepts it offline (else it stops). Then, in one run of interleaved rounds:

- ``bare``: the program does the unavoidable work only, with the crypto library the client uses:
  one Ed25519 verify of the document's canonical bytes alone, and back to back with the reads an
  offline check cannot avoid (the state file and the hardware files the SDK reads on this machine,
  listed by running the Python SDK's readers);
- ``check``: the client's own offline check (its explicit offline mode), in the same process;
- start-up: a whole new process that loads the client and checks once, against the empty program
  of the same language (``node -e ""``, an empty C, Go or Java ``main``).

Each in-process figure is the seconds per call of ``--calls`` calls after half as many to warm up,
wall and CPU time (the whole process's: a runtime's collector and compiler threads count). Target,
as ``bench/offline_check.py``'s for the Python SDK: check <= 2 x verify + the reads, judged per round
against verify + (reads and verify back to back), met when the median per-round CPU or wall ratio
is <= 1. A client that keeps the hardware it read for the life of the process (the TypeScript
one) is also judged against verify + (the state read and verify back to back).
Start-up has no target here: its ratio and its extra milliseconds are printed.
A language whose toolchain is missing is skipped with a message; a build or an offline check that
fails stops the run.
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from cold_start import Command, run_once
from offline_check import PRODUCT, stored_document

from licentia.core.canonical import canonical_json
from licentia.core.signing import SigningKey, _b64d

ROOT = Path(__file__).resolve().parent.parent
PROGRAMS = ROOT / "bench" / "clients"


@dataclass(frozen=True)
class Client:
    """A built client: ``program`` + a mode's arguments runs its bench program; ``empty``: its language's bare start."""

    name: str
    program: list[str]
    empty: list[str]
    loads: list[str]  # what the program needs to find the client (the JS build's entry point), before the data dir


def run(argv: list[str], cwd: Path | None = None, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"failed ({done.returncode}): {' '.join(argv)}\n{done.stdout}\n{done.stderr}")
    return done.stdout


def copy_client(lang: str, build: Path, *ignore: str) -> Path:
    target = build / lang
    shutil.copytree(ROOT / "clients" / lang, target, ignore=shutil.ignore_patterns(*ignore))
    return target


def build_js(build: Path) -> Client:
    js = copy_client("js", build, "node_modules", "dist", "build")
    run(["npm", "ci", "--no-audit", "--no-fund", "--prefer-offline"], cwd=js)
    run(["npm", "run", "build"], cwd=js)
    return Client("TypeScript", ["node", str(PROGRAMS / "js" / "bench.js")], ["node", "-e", ""],
                  [str(js / "dist" / "index.js")])  # fmt: skip


def build_c(build: Path) -> Client:
    c = copy_client("c", build, "build")
    run(["make", "-C", str(c), "-j2"])
    flags = run(["pkg-config", "--cflags", "--libs", "libsodium"]).split()
    lib = c / "build"
    program, empty = build / "c-bench", build / "c-empty"
    run(["cc", "-O2", "-std=c99", "-D_POSIX_C_SOURCE=200809L", f"-I{c / 'include'}", str(PROGRAMS / "c" / "bench.c"),
         "-o", str(program), f"-L{lib}", "-llicentia", f"-Wl,-rpath,{lib}", *flags])  # fmt: skip
    run(["cc", "-O2", str(PROGRAMS / "c" / "empty.c"), "-o", str(empty)])
    return Client("C", [str(program)], [str(empty)], [])


def build_go(build: Path) -> Client:
    module = "github.com/licentia/licentia/clients/go"
    source, empty = build / "go-bench", build / "go-empty"
    source.mkdir()
    empty.mkdir()
    shutil.copy(PROGRAMS / "go" / "main.go", source)
    shutil.copy(ROOT / "clients" / "go" / "go.sum", source)
    (source / "go.mod").write_text(
        f"module bench\n\ngo 1.19\n\nrequire {module} v0.0.0\n\nreplace {module} => {ROOT / 'clients' / 'go'}\n"
    )
    shutil.copy(PROGRAMS / "go" / "empty" / "main.go", empty)
    (empty / "go.mod").write_text("module empty\n\ngo 1.19\n")
    run(["go", "mod", "tidy"], cwd=source)
    run(["go", "build", "-o", str(build / "go-bench.bin"), "."], cwd=source)
    run(["go", "build", "-o", str(build / "go-empty.bin"), "."], cwd=empty)
    return Client("Go", [str(build / "go-bench.bin")], [str(build / "go-empty.bin")], [])


def build_java(build: Path) -> Client:
    java = copy_client("java", build, "target")
    run(["mvn", "-q", "-B", "package", "-DskipTests"], cwd=java)
    run(["mvn", "-q", "-B", "dependency:build-classpath", "-Dmdep.outputFile=classpath.txt"], cwd=java)
    jar = next(p for p in (java / "target").glob("licentia-client-*.jar") if p.stem.count("-") == 2)
    classes = build / "java-bench"
    run(["javac", "-d", str(classes), "-cp", str(jar), str(PROGRAMS / "java" / "Bench.java"),
         str(PROGRAMS / "java" / "Empty.java")])  # fmt: skip
    classpath = ":".join([str(classes), str(jar), (java / "classpath.txt").read_text().strip()])
    return Client("Java", ["java", "-cp", classpath, "Bench"], ["java", "-cp", str(classes), "Empty"], [])


# Language: (the tools it needs, its builder).
BUILDERS: dict[str, tuple[tuple[str, ...], Callable[[Path], Client]]] = {
    "js": (("node", "npm"), build_js),
    "c": (("make", "cc", "pkg-config"), build_c),
    "go": (("go",), build_go),
    "java": (("java", "javac", "mvn"), build_java),
}


def hardware_files(data_dir: Path) -> list[str]:
    """The files an offline check reads on this machine (directories end in ``/``), as the Python SDK reads them."""
    if not sys.platform.startswith("linux"):
        return []
    from licentia.client.hardware import linux, read_hardware

    seen: list[str] = []
    read_text, names = linux.read_text, linux._names

    def recorded_read(path: linux.StrPath, limit: int = 65536, *, until: bytes | None = None) -> str | None:
        seen.append(str(path))
        return read_text(path, limit, until=until)

    def recorded_names(folder: str) -> list[str]:
        seen.append(folder.rstrip("/") + "/")
        return names(folder)

    linux._ATTRIBUTES.clear()
    linux.read_text, linux._names = recorded_read, recorded_names  # type: ignore[assignment]
    try:
        read_hardware(data_dir, virtual=False)
    finally:
        linux.read_text, linux._names = read_text, names  # type: ignore[assignment]
    return list(dict.fromkeys(seen))


def prepare(scratch: Path, lang: str, key: SigningKey) -> tuple[Path, Path]:
    """(data dir holding the stored state, bench dir with the bare program's inputs) for one client."""
    data_dir = scratch / f"{lang}-data"
    signed = stored_document(data_dir, key)
    bench_dir = scratch / f"{lang}-bare"
    bench_dir.mkdir()
    (bench_dir / "body.bin").write_bytes(canonical_json(signed["document"]))
    (bench_dir / "sig.bin").write_bytes(_b64d(str(signed["sig"])))
    (bench_dir / "pub.bin").write_bytes(key.public_key.public_bytes_raw())
    files = [str(data_dir / "state.json"), *hardware_files(data_dir)]
    (bench_dir / "files.txt").write_text("".join(f"{f}\n" for f in files))
    return data_dir, bench_dir


def figures(output: str) -> dict[str, tuple[float, float]]:
    """``name wall cpu`` lines: seconds per call."""
    parsed = {}
    for line in output.splitlines():
        name, wall, cpu = line.split()
        parsed[name] = (float(wall), float(cpu))
    return parsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15, help="rounds, each running every program once, shuffled")
    parser.add_argument("--calls", type=int, default=400, help="timed calls per process (after half as many)")
    parser.add_argument("--only", nargs="*", default=list(BUILDERS), choices=list(BUILDERS))
    args = parser.parse_args(argv)
    key = SigningKey.generate()
    public = key.export_public()
    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp)
        clients: dict[str, Client] = {}
        for lang in args.only:
            tools, builder = BUILDERS[lang]
            missing = [tool for tool in tools if shutil.which(tool) is None]
            if missing:
                print(f"{lang}: SKIPPED, no {', '.join(missing)} on this machine", file=sys.stderr)
                continue
            print(f"building {lang} ...", file=sys.stderr)
            clients[lang] = builder(scratch)
        inputs = {lang: prepare(scratch, lang, key) for lang in clients}
        commands: dict[str, dict[str, list[str]]] = {}
        for lang, client in clients.items():
            data_dir, bench_dir = inputs[lang]
            target = [*client.loads, str(data_dir), PRODUCT, public]
            commands[lang] = {
                "bare": [*client.program, "bare", str(bench_dir), str(args.calls)],
                "check": [*client.program, "check", *target, str(args.calls)],
                "start": [*client.program, "start", *target],
            }
            answer = run(commands[lang]["start"]).split()
            if answer != ["true", "registered"]:
                raise SystemExit(f"{client.name} does not accept the stored state offline: {answer}")
        if not clients:
            raise SystemExit("no client could be built here")

        starts = {lang: (Command(f"{lang} empty", c.empty), Command(f"{lang} start", commands[lang]["start"]))
                  for lang, c in clients.items()}  # fmt: skip
        for command in (command for pair in starts.values() for command in pair):
            run_once(command)  # warm the page cache
        timings: dict[str, list[dict[str, tuple[float, float]]]] = {lang: [] for lang in clients}
        start_times: dict[str, list[tuple[float, float]]] = {c.name: [] for pair in starts.values() for c in pair}
        for _ in range(args.rounds):
            # One round: every program of every language once, in a shuffled order.
            steps: list[tuple[str, str | Command]] = [(lang, mode) for lang in clients for mode in ("bare", "check")]
            steps += [(lang, command) for lang, pair in starts.items() for command in pair]
            round_figures: dict[str, dict[str, tuple[float, float]]] = {lang: {} for lang in clients}
            for lang, step in random.sample(steps, len(steps)):
                if isinstance(step, Command):
                    start_times[step.name].append(run_once(step))
                else:
                    round_figures[lang].update(figures(run(commands[lang][step])))
            for lang, measured in round_figures.items():
                timings[lang].append(measured)

    print(f"{len(clients)} clients; medians of {args.rounds} shuffled rounds ({args.calls} calls per process"
          " in process; whole new processes for the start); wall / CPU time\n")  # fmt: skip
    rows = [
        report(client, timings[lang], *(start_times[c.name] for c in starts[lang])) for lang, client in clients.items()
    ]
    print("\n| client | verify | reads + verify | offline check | check / budget | empty start | client start |")
    print("|---|---|---|---|---|---|---|")
    for row in rows:
        print(row)
    return 0 if all("PASS" in row for row in rows) else 1


def report(
    client: Client,
    rounds: list[dict[str, tuple[float, float]]],
    empty: list[tuple[float, float]],
    start: list[tuple[float, float]],
) -> str:
    """Print one client's figures; return its row of the summary table (CPU times)."""

    def med(name: str, index: int) -> float:
        return statistics.median(r[name][index] for r in rounds)

    # Per round: check / (verify + (reads + verify back to back)), wall and CPU.
    wall_ratio, cpu_ratio = (
        statistics.median(r["check"][i] / (r["verify"][i] + r["unavoidable"][i]) for r in rounds) for i in (0, 1)
    )
    verdict = "PASS" if min(wall_ratio, cpu_ratio) <= 1 else "FAIL"
    wall_e, cpu_e = (statistics.median(t[i] for t in empty) for i in (0, 1))
    wall_s, cpu_s = (statistics.median(t[i] for t in start) for i in (0, 1))
    per_round = statistics.median(s[0] / e[0] for s, e in zip(start, empty, strict=True))
    print(client.name)
    for label, name in (("bare Ed25519 verify", "verify"), ("reads + verify, back to back", "unavoidable"),
                        ("offline check", "check")):  # fmt: skip
        print(f"  {label:34} {med(name, 0) * 1e6:8.1f} us {med(name, 1) * 1e6:8.1f} us CPU")
    print(f"  check / (2 x verify + reads)       {wall_ratio:5.2f} x wall {cpu_ratio:5.2f} x CPU"
          f"  -> {verdict} (target <= 1)")  # fmt: skip
    kept = ""
    if "state_only" in rounds[0]:  # a client that keeps the hardware it read: its budget is the state read
        state_only = statistics.median(r["check"][1] / (r["verify"][1] + r["state_only"][1]) for r in rounds)
        print(f"  state read + verify, back to back  {med('state_only', 0) * 1e6:8.1f} us"
              f" {med('state_only', 1) * 1e6:8.1f} us CPU")  # fmt: skip
        print(f"  check / (2 x verify + state read)               {state_only:5.2f} x CPU  (hardware kept in memory)")
        kept = f"; {state_only:.2f} against the state read alone"
    print(f"  empty program, new process         {wall_e * 1e3:8.1f} ms {cpu_e * 1e3:8.1f} ms CPU")
    print(
        f"  load the client + one check        {wall_s * 1e3:8.1f} ms {cpu_s * 1e3:8.1f} ms CPU"
        f"  ({cpu_s / cpu_e:.2f}x CPU, {per_round:.2f}x wall per round, +{(cpu_s - cpu_e) * 1e3:.1f} ms CPU)"
    )
    return (
        f"| {client.name} | {med('verify', 1) * 1e6:.0f} us | {med('unavoidable', 1) * 1e6:.0f} us"
        f" | {med('check', 1) * 1e6:.0f} us | {cpu_ratio:.2f} ({wall_ratio:.2f} wall) {verdict}{kept}"
        f" | {cpu_e * 1e3:.1f} ms | {cpu_s * 1e3:.1f} ms ({cpu_s / cpu_e:.1f}x) |"
    )


if __name__ == "__main__":
    sys.exit(main())
