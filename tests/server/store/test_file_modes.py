"""Files holding data are private (0600) from their creation: the database, its WAL and shared-memory
files, and what is written through ``private_output`` (backups, exports, reports)."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from licentia.server.store.engine import database_urls, make_sync_engine, private_output, upgrade


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def usual_umask() -> Iterator[None]:
    """The umask most systems run with (022): without care, files come out 0644."""
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def test_database_wal_and_shm_are_created_0600(tmp_path: Path, usual_umask: None) -> None:
    database = tmp_path / "data" / "licentia.db"
    urls = database_urls(f"sqlite:///{database}")
    upgrade(urls)
    engine = make_sync_engine(urls, pool_size=1)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("CREATE TABLE notes (body TEXT)"))
            conn.execute(sa.text("INSERT INTO notes VALUES ('customer data')"))
        files = {p.name: mode(p) for p in database.parent.iterdir()}
    finally:
        engine.dispose()
    assert files["licentia.db"] == 0o600
    assert files["licentia.db-wal"] == 0o600 and files["licentia.db-shm"] == 0o600
    assert mode(database.parent) == 0o700


def test_a_database_left_readable_by_an_older_version_is_narrowed(tmp_path: Path, usual_umask: None) -> None:
    database = tmp_path / "licentia.db"
    urls = database_urls(f"sqlite:///{database}")
    upgrade(urls)
    database.chmod(0o644)
    engine = make_sync_engine(urls, pool_size=1)
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    finally:
        engine.dispose()
    assert mode(database) == 0o600


def test_private_output_replaces_the_target_only_when_written(tmp_path: Path, usual_umask: None) -> None:
    target = tmp_path / "export.csv"
    target.write_text("old\n")
    target.chmod(0o644)
    with private_output(target) as path:
        assert mode(path) == 0o600 and path != target
        path.write_text("new\n")
    assert target.read_text() == "new\n" and mode(target) == 0o600
    with pytest.raises(RuntimeError), private_output(target) as path:
        path.write_text("half")
        raise RuntimeError("export failed")
    assert target.read_text() == "new\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["export.csv"]  # no temporary file left
