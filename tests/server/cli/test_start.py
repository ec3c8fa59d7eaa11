"""Read-only commands start fast: they import neither the web app nor SQLAlchemy, and find the same database.

Timing lives in ``bench/cold_start.py --only licentia``; these tests hold the reasons for it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from licentia.server.cli import main
from licentia.server.cli.context import CliContext

HEAVY = ("fastapi", "starlette", "sqlalchemy", "alembic", "pydantic", "uvicorn", "jinja2")
# Standard modules a read-only command can do without, each a measurable share of a bare start
# (docs/performance.md): an import of one at module level somewhere on the path fails here.
SLOW = ("typing", "pathlib", "dataclasses", "shutil", "logging", "asyncio")
PROBE = """
import json, sys
from licentia.server.cli import main
try:
    code = main(sys.argv[1:])
except SystemExit as exc:  # --help
    code = exc.code
sys.stdout.flush()
print(json.dumps({"code": code, "loaded": sorted({m.split(".")[0] for m in sys.modules})}), file=sys.stderr)
"""


def run_probe(*args: str) -> tuple[int, set[str], str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LICENTIA_")}
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *args], capture_output=True, text=True, timeout=60, check=False, env=env
    )
    report = json.loads(done.stderr.strip().splitlines()[-1])
    return report["code"], set(report["loaded"]), done.stdout


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("start") / "data"
    assert main(["demo", "--devices", "10", "--days", "3", "--data-dir", str(path)]) == 0
    args = ["license", "issue", "--product", "my-app", "--email", "a@example.com", "--data-dir", str(path)]
    assert main(args) == 0
    return path


@pytest.mark.parametrize("command", [("--help",), ("license", "--help"), ("device", "show", "--help")], ids=" ".join)
def test_help_imports_nothing_of_the_server(command: tuple[str, ...]) -> None:
    code, loaded, out = run_probe(*command)
    assert code == 0 and out.startswith("usage: licentia")
    assert not loaded & {*HEAVY, *SLOW}, loaded & {*HEAVY, *SLOW}


@pytest.mark.parametrize(
    "command",
    [
        ("license", "list"),
        ("product", "show", "my-app"),
        ("product", "list"),
        ("product", "piracy", "my-app"),
        ("device", "list"),
        ("device", "show"),
    ],
    ids=" ".join,
)
def test_read_only_commands_load_neither_the_web_app_nor_sqlalchemy(data_dir: Path, command: tuple[str, ...]) -> None:
    if command == ("device", "show"):
        _, _, listed = run_probe("device", "list", "--data-dir", str(data_dir))
        command = (*command, listed.split("\t")[0])
    code, loaded, out = run_probe(*command, "--data-dir", str(data_dir))
    assert code == 0 and out
    assert not loaded & {*HEAVY, *SLOW}, f"{' '.join(command)} imported {sorted(loaded & {*HEAVY, *SLOW})}"


def test_global_options_work_before_and_after_the_command(data_dir: Path) -> None:
    def licentia(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "licentia", *args], capture_output=True, text=True, timeout=60, check=False
        )

    device_id = licentia("--data-dir", str(data_dir), "device", "list", "--limit", "1").stdout.split("\t")[0]
    for args in (
        ("--data-dir", str(data_dir), "device", "show", device_id),
        ("device", "--data-dir", str(data_dir), "show", device_id),
        ("device", "show", "--data-dir", str(data_dir), device_id),
        ("device", "show", device_id, "--data-dir", str(data_dir)),
    ):
        shown = licentia(*args)
        assert shown.returncode == 0, (args, shown.stderr)
        assert json.loads(shown.stdout)["id"] == device_id


def test_a_fresh_data_directory_is_migrated_before_it_is_read(tmp_path: Path) -> None:
    code, loaded, out = run_probe("license", "list", "--data-dir", str(tmp_path / "new"))
    assert code == 0 and out == "" and (tmp_path / "new" / "licentia.db").is_file()
    assert "sqlalchemy" in loaded  # the slow path ran once; the next read needs none of it
    code, loaded, _ = run_probe("license", "list", "--data-dir", str(tmp_path / "new"))
    assert code == 0 and "sqlalchemy" not in loaded


def test_the_fast_database_location_agrees_with_the_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("LICENTIA_DATABASE_URL", "LICENTIA_DATA_DIR", "LICENTIA_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)

    def agree(**options: str | None) -> str:
        fast, full = CliContext(**options), CliContext(**options)
        assert fast.database_location == full.settings.resolved_database_url
        return fast.database_location

    assert agree().endswith("/licentia-data/licentia.db")
    assert agree(data_dir="elsewhere").endswith("/elsewhere/licentia.db")
    (tmp_path / "licentia.toml").write_text('data_dir = "from-toml"\n')
    assert agree().endswith("/from-toml/licentia.db")
    monkeypatch.setenv("LICENTIA_DATA_DIR", "from-env")
    assert agree().endswith("/from-env/licentia.db")
    assert agree(database_url="postgresql://u@h/db") == "postgresql://u@h/db"
    (tmp_path / "other.toml").write_text('database_url = "postgresql://t@h/db"\n')
    monkeypatch.setenv("LICENTIA_CONFIG", str(tmp_path / "other.toml"))
    assert agree() == "postgresql://t@h/db"


def test_the_newest_migration_is_read_as_alembic_reads_it() -> None:
    from alembic.script import ScriptDirectory

    from licentia.server.store.engine import alembic_config
    from licentia.server.store.snapshot import head_revision

    assert head_revision() == ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


def test_read_only_commands_read_every_backend(migrated, product, client, capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from tests.server.helpers import Installation

    monkeypatch.setenv("LICENTIA_SECRET_KEY", migrated.secret_key.get_secret_value())
    device_id = Installation(client, product.public_key).check()["device"]
    options = ["--data-dir", str(migrated.data_dir), "--database-url", migrated.resolved_database_url]
    assert (
        main(["license", "issue", "--product", "acme", "--email", "a@example.com", "--expires", "2031-02-03", *options])
        == 0
    )
    key = capsys.readouterr().out.strip()
    assert main(["license", "list", "--prefix", key[:3].lower(), *options]) == 0
    assert capsys.readouterr().out.endswith(f"\t{key[:5]}\tactive\texpires 2031-02-03\n")
    assert main(["product", "show", "acme", *options]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["collect_facts"] is False and shown["policy"]["allow_virtual_machines"] in (True, False)
    assert main(["device", "show", device_id, *options]) == 0
    device = json.loads(capsys.readouterr().out)
    assert device["status"] == "trial" and device["first_seen"] == "2026-01-05T09:00:00+00:00"
    assert isinstance(device["facts"], dict) and isinstance(device["clone_suspected"], bool)
    assert main(["license", "list", "--prefix", "%", *options]) == 0
    assert capsys.readouterr().out == ""  # a typed % is a character, not a wildcard


WEB = {"fastapi", "starlette", "jinja2", "uvicorn"}


@pytest.mark.parametrize(
    "command",
    [
        ("license", "issue", "--product", "my-app", "--email", "web@example.com"),
        ("product", "policy", "my-app", "--set", "grace_days=4"),
        ("admin", "create", "web@vendor.example", "--password-stdin"),
        ("admin", "token", "--name", "shop", "--scope", "write"),
        ("rollup",),
        ("evidence", "purge"),
        ("notify", "status"),
        ("export",),
    ],
    ids=" ".join,
)
def test_commands_that_write_load_no_web_framework(data_dir: Path, command: tuple[str, ...]) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LICENTIA_")}
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *command, "--data-dir", str(data_dir)],
        input="long enough password\n",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=env,
    )
    report = json.loads(done.stderr.strip().splitlines()[-1])
    assert report["code"] == 0, done.stderr
    assert not set(report["loaded"]) & WEB, f"{' '.join(command)} imported {set(report['loaded']) & WEB}"
