"""Every migration after 0005 is expand-only, unless it is marked and documented as a contract step.

During a rolling upgrade the new release migrates while hosts of the previous one still
serve (docs/operations.md, "Migrations: expand, then contract"). The previous release
runs beside an expand step: new tables, new nullable columns, new columns with a server
default, new non-unique indexes. Anything else (a table or column gone or renamed, a
type changed, a column made NOT NULL or added NOT NULL without a default, a uniqueness
added or removed) breaks it, and is a *contract* step: allowed only in a migration that
says so with a module-level ``CONTRACT = "what the previous release no longer uses"``
and is listed in the runbook's contract steps, so that operators upgrade through the
release before it.

The check applies each migration to a real database (the SQLite file, then PostgreSQL)
and compares the schema before and after, as SQLAlchemy's inspector reads it: whatever
operations the migration used (Alembic's ops, batch mode, raw SQL), the schema tells.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.script import Script, ScriptDirectory

from licentia.server.store.engine import MIGRATIONS, alembic_config, database_urls, make_sync_engine

# Migrations up to this one were written before the rule (0003 moves the trial to machines).
LAST_UNCHECKED = "0005"
RUNBOOK = Path(__file__).resolve().parents[2] / "docs" / "operations.md"


def migrate(url: str, revision: str, location: Path = MIGRATIONS) -> None:
    config = alembic_config(database_urls(url).sync)
    config.set_main_option("script_location", str(location))
    command.upgrade(config, revision)


def later_migrations(location: Path = MIGRATIONS) -> list[Script]:
    """The migrations after LAST_UNCHECKED, oldest first (whatever their numbers, once chained)."""
    config = alembic_config("sqlite://")
    config.set_main_option("script_location", str(location))
    scripts = list(reversed(list(ScriptDirectory.from_config(config).walk_revisions())))
    revisions = [script.revision for script in scripts]
    return scripts[revisions.index(LAST_UNCHECKED) + 1 :]


def schema(url: str) -> dict[str, dict[str, Any]]:
    """Tables with their columns (type, nullable, server default) and the column sets kept unique."""
    engine = make_sync_engine(database_urls(url), pool_size=1)
    try:
        inspector = sa.inspect(engine)
        tables: dict[str, dict[str, Any]] = {}
        for table in inspector.get_table_names():
            reflected = inspector.get_columns(table)
            columns = {c["name"]: (str(c["type"]).split("(")[0], c["nullable"], c.get("default")) for c in reflected}
            unique = {tuple(u["column_names"]) for u in inspector.get_unique_constraints(table)}
            unique |= {tuple(str(c) for c in i["column_names"]) for i in inspector.get_indexes(table) if i["unique"]}
            tables[table] = {"columns": columns, "unique": unique}
        return tables
    finally:
        engine.dispose()


def contract_changes(before: dict[str, dict[str, Any]], after: dict[str, dict[str, Any]]) -> list[str]:
    """What the previous release's code could not run beside (empty for an expand step)."""
    found = []
    for table, old in before.items():
        if table not in after:
            found.append(f"table {table} removed")
            continue
        new = after[table]
        for name, (kind, nullable, _default) in old["columns"].items():
            if name not in new["columns"]:
                found.append(f"column {table}.{name} removed (or renamed)")
                continue
            new_kind, new_nullable, _ = new["columns"][name]
            if new_kind != kind:
                found.append(f"column {table}.{name} changed type {kind} -> {new_kind}")
            if nullable and not new_nullable:
                found.append(f"column {table}.{name} made NOT NULL")
        for name, (_kind, nullable, default) in new["columns"].items():
            if name not in old["columns"] and not nullable and default is None:
                found.append(f"column {table}.{name} added NOT NULL without a server default")
        for columns in new["unique"] - old["unique"]:
            found.append(f"uniqueness on {table}{columns} added (the previous release may insert duplicates)")
        for columns in old["unique"] - new["unique"]:
            found.append(f"uniqueness on {table}{columns} removed (the previous release may rely on it)")
    return found


def check_migrations(url: str, location: Path = MIGRATIONS) -> dict[str, list[str]]:
    """Each later migration's contract changes, applied one at a time to the database at ``url``."""
    found = {}
    for script in later_migrations(location):
        migrate(url, str(script.down_revision), location)
        before = schema(url)
        migrate(url, script.revision, location)
        found[script.revision] = contract_changes(before, schema(url))
    return found


def declared_contract(script: Script) -> str:
    return str(getattr(script.module, "CONTRACT", "") or "")


def test_every_later_migration_is_expand_only_unless_a_documented_contract_step(database_url):
    runbook = RUNBOOK.read_text()
    scripts = {script.revision: script for script in later_migrations()}
    for revision, changes in check_migrations(database_url).items():
        reason = declared_contract(scripts[revision])
        if reason:
            assert f"`{revision}`" in runbook, f"contract step {revision} is not listed in docs/operations.md"
            continue
        assert changes == [], (
            f"migration {revision} is not expand-only: {changes}. Split it (expand now, contract in a later"
            " release), or mark it CONTRACT = '<what the previous release no longer uses>' and list it in"
            " docs/operations.md"
        )


EXPAND = """
import sqlalchemy as sa
from alembic import op

revision = "{revision}"
down_revision = "{down}"


def upgrade():
    op.add_column("devices", sa.Column("note", sa.Text(), nullable=True))
    op.add_column("licenses", sa.Column("seats_hint", sa.Integer(), nullable=False, server_default="0"))
    op.create_table("notes", sa.Column("id", sa.Integer(), primary_key=True), sa.Column("text", sa.Text()))
    op.create_index("ix_notes_text", "notes", ["text"])
    # As scripts/new-migration writes them (batch mode, which SQLite may answer by copying the table).
    with op.batch_alter_table("machines") as batch:
        batch.add_column(sa.Column("nickname", sa.String(64), nullable=True))
        batch.create_index("ix_machines_nickname", ["nickname"])
    with op.batch_alter_table("events") as batch:
        batch.alter_column("client_event_id", existing_type=sa.String(64), nullable=True)
"""

CONTRACT = """
import sqlalchemy as sa
from alembic import op

revision = "{revision}"
down_revision = "{down}"


def upgrade():
    with op.batch_alter_table("devices") as batch:
        batch.drop_column("note")
        batch.alter_column("os_name", new_column_name="platform")
    with op.batch_alter_table("licenses") as batch:
        batch.add_column(sa.Column("tier", sa.Text(), nullable=False))
    op.create_index("ux_notes_text", "notes", ["text"], unique=True)
"""


def test_the_check_passes_an_expand_step_and_names_every_contract_change(tmp_path, database_url):
    location = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS, location, ignore=shutil.ignore_patterns("__pycache__"))
    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    (location / "versions" / "x1_expand.py").write_text(EXPAND.format(revision="x1", down=head))
    (location / "versions" / "x2_contract.py").write_text(CONTRACT.format(revision="x2", down="x1"))
    found = check_migrations(database_url, location)
    assert found["x1"] == []
    assert sorted(found["x2"]) == sorted([
        "column devices.note removed (or renamed)",
        "column devices.os_name removed (or renamed)",
        "column licenses.tier added NOT NULL without a server default",
        "uniqueness on notes('text',) added (the previous release may insert duplicates)",
    ])  # fmt: skip
