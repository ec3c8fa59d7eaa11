"""Backups that restore: after a round trip every installation checks in as before (both databases)."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from licentia.server.app import create_app
from licentia.server.backup import BackupError, restore_backup, write_backup
from licentia.server.licenses.service import issue_license
from licentia.server.settings import Settings
from licentia.server.store.engine import database_urls, make_sync_engine
from tests.databases import pg_database
from tests.server.evidence.conftest import events_of
from tests.server.helpers import Installation

PASSPHRASE = "correct horse battery staple"


@contextlib.contextmanager
def empty_target(settings: Any, tmp_path: Path) -> Any:
    """Where a restore goes: a new data directory (no secret key) and an empty database of the same kind."""
    if settings.resolved_database_url.startswith("sqlite"):
        yield Settings(data_dir=tmp_path / "restored", reverse_dns=False, product_cache_seconds=0)
        return
    databases = pg_database()
    url = next(databases)
    try:
        yield Settings(data_dir=tmp_path / "restored", database_url=url, reverse_dns=False, product_cache_seconds=0)
    finally:
        with contextlib.suppress(StopIteration):
            next(databases)


def test_a_restored_server_knows_every_installation(client, product, engine, migrated, clock, tmp_path):
    with engine.begin() as conn:
        lic = issue_license(conn, product="acme", email="buyer@example.com", now=clock.now())
    apps = [Installation(client, product.public_key, machine=f"m{i}", disk=f"d{i}", mac=f"n{i}") for i in range(3)]
    for app in apps:
        app.check()
    assert apps[0].check("/v1/activate", key=lic.key)["status"] == "registered"
    sealed = tmp_path / "backup.licentia"
    made = write_backup(migrated, sealed, PASSPHRASE, now=clock.now())
    assert made.revision is not None and sealed.stat().st_mode & 0o777 == 0o600
    apps[1].check()  # checked in after the backup: it holds a token the restored database never saw

    with empty_target(migrated, tmp_path) as target:
        restore_backup(target, sealed, PASSPHRASE)
        # The original server's secret key came with the backup: the restored signing keys sign.
        assert (target.data_dir / "secret.key").read_bytes().strip() == migrated.secret_key.get_secret_value().encode()
        restored_engine = make_sync_engine(database_urls(target.resolved_database_url), pool_size=1)
        with TestClient(create_app(target, clock=clock)) as restored:
            for app in apps:
                app.client = restored
                before = app.credential["device"]
                doc = app.check()  # its credential and its current token, verified with the pinned key
                assert doc["device"] == before and doc["clone_suspected"] is False and doc["token"]
            assert apps[0].check()["status"] == "registered"
            assert events_of(restored_engine, "clone_suspected") == []
            restored_engine.dispose()
            # From the second check on, the token rules hold again: a copy left a token behind is caught.
            copy = Installation(restored, product.public_key, machine="m2", disk="d2", mac="n2")
            copy.credential, copy.token = dict(apps[2].credential), apps[2].token
            apps[2].check()
            apps[2].check()  # the copy's token is now two behind: not a lost answer
            assert copy.check()["clone_suspected"] is True


def test_a_backup_without_its_passphrase_or_damaged_restores_nothing(migrated, product, tmp_path, clock):
    sealed = tmp_path / "backup.licentia"
    write_backup(migrated, sealed, PASSPHRASE, now=clock.now())
    data = sealed.read_bytes()
    damaged = {
        "truncated": data[: len(data) - 40],
        "edited": data[:-100] + bytes([data[-100] ^ 1]) + data[-99:],
        "not a backup": b"SQLite format 3\x00" + data[16:],
    }
    with empty_target(migrated, tmp_path) as target:
        with pytest.raises(BackupError, match="wrong passphrase"):
            restore_backup(target, sealed, "not the passphrase at all")
        for name, content in damaged.items():
            (tmp_path / name).write_bytes(content)
            with pytest.raises(BackupError):
                restore_backup(target, tmp_path / name, PASSPHRASE)
        assert not (target.data_dir / "secret.key").exists()
        restore_backup(target, sealed, PASSPHRASE)
        with pytest.raises(BackupError, match="--force"):
            restore_backup(target, sealed, PASSPHRASE)  # never over a database in use by mistake
        restore_backup(target, sealed, PASSPHRASE, force=True)


def test_a_short_passphrase_is_refused(migrated, tmp_path, clock):
    with pytest.raises(BackupError, match="at least"):
        write_backup(migrated, tmp_path / "b", "short", now=clock.now())
    assert not (tmp_path / "b").exists()
