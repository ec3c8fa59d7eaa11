"""Backups that restore: the database and the secret key that unlocks the signing keys, sealed.

A backup must hold the secret key (``secret.key`` or ``LICENTIA_SECRET_KEY``):
without it the restored signing keys cannot sign, and every installation
would have to be given a new product key. A file holding that secret must not
rest in clear, so the whole backup is sealed with a passphrase the operator
keeps apart from it: Argon2id (libsodium's ``pwhash``) derives the key, and
libsodium's ``secretstream`` (XChaCha20-Poly1305, chunked, with a final tag
so a truncated file is refused) encrypts a tar stream of:

- ``manifest.json``: the format, when, from which database kind and migration;
- ``secret.key``: the Fernet key of the signing keys;
- ``database.sqlite`` (a consistent copy made with SQLite's backup API while the
  server runs) or ``database.pgdump`` (``pg_dump --format=custom``).

Restoring puts the database back (SQLite: replaces the file; PostgreSQL:
``pg_restore --clean``), the secret key beside it, and applies any newer
migrations, then forgets each installation's token chain (see
:func:`restore_backup`): every installation checks in with its credential as before, and
one that checked in after the backup is not taken for a copy.
"""

from __future__ import annotations

import base64
import datetime as dt
import io
import json
import os
import shutil
import sqlite3
import struct
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nacl.pwhash
import nacl.utils
from sqlalchemy.engine import make_url

from licentia.server.settings import Settings
from licentia.server.store.engine import current_revision, database_urls, private_output, upgrade
from licentia.server.store.sealed_stream import KDF as _KDF
from licentia.server.store.sealed_stream import BackupError, SealedReader, SealedWriter, derive_key

__all__ = ["BackupError", "Manifest", "open_backup", "restore_backup", "write_backup"]

MAGIC = b"LICENTIA-BACKUP\n"
FORMAT = 1
# Refuse a header asking for more than this (a crafted file must not make restore eat the machine).
_MAX_OPSLIMIT = nacl.pwhash.argon2id.OPSLIMIT_SENSITIVE
_MAX_MEMLIMIT = nacl.pwhash.argon2id.MEMLIMIT_SENSITIVE
MIN_PASSPHRASE = 12


@dataclass(frozen=True)
class Manifest:
    format: int
    created_at: str
    database: str  # "sqlite" | "postgresql"
    revision: str | None
    version: str


def _check_passphrase(passphrase: str) -> None:
    if len(passphrase) < MIN_PASSPHRASE:
        raise BackupError(f"the backup passphrase must be at least {MIN_PASSPHRASE} characters")


# -- backup ----------------------------------------------------------------------


def write_backup(settings: Settings, output: Path, passphrase: str, *, now: dt.datetime) -> Manifest:
    """Write a sealed backup of the configured database and secret key to ``output`` (0600)."""
    from licentia import __version__

    _check_passphrase(passphrase)
    urls = database_urls(settings.resolved_database_url)
    kind = "sqlite" if urls.is_sqlite else "postgresql"
    manifest = Manifest(FORMAT, now.isoformat(), kind, current_revision(urls), __version__)
    secret = _secret_key(settings)
    with tempfile.TemporaryDirectory(prefix="licentia-backup.") as scratch:
        dump = Path(scratch) / ("database.sqlite" if urls.is_sqlite else "database.pgdump")
        if urls.is_sqlite:
            _copy_sqlite(Path(make_url(urls.sync).database or ""), dump)
        else:
            _pg_run("pg_dump", urls.sync, "--format=custom", "--no-owner", "--no-privileges", f"--file={dump}")
        salt = nacl.utils.random(_KDF.SALTBYTES)
        opslimit, memlimit = _KDF.OPSLIMIT_MODERATE, _KDF.MEMLIMIT_MODERATE
        header = json.dumps(
            {
                "format": FORMAT,
                "kdf": "argon2id",
                "salt": base64.b64encode(salt).decode(),
                "opslimit": opslimit,
                "memlimit": memlimit,
            },
            sort_keys=True,
        ).encode()
        key = derive_key(passphrase, salt, opslimit, memlimit)
        with private_output(output) as path, open(path, "wb") as out:
            out.write(MAGIC + struct.pack(">I", len(header)) + header)
            sealed = SealedWriter(out, key, header)
            with tarfile.open(fileobj=sealed, mode="w|") as tar:
                _add_bytes(tar, "manifest.json", json.dumps(manifest.__dict__, indent=2).encode())
                _add_bytes(tar, "secret.key", secret)
                tar.add(dump, arcname=dump.name)
            sealed.finish()
    return manifest


def _secret_key(settings: Settings) -> bytes:
    if settings.secret_key is not None:
        return settings.secret_key.get_secret_value().encode()
    path = settings.data_dir / "secret.key"
    try:
        return path.read_bytes().strip()
    except OSError as exc:
        raise BackupError(f"no secret key to back up at {path} (nor LICENTIA_SECRET_KEY)") from exc


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode = len(data), 0o600
    tar.addfile(info, io.BytesIO(data))


def _copy_sqlite(database: Path, target: Path) -> None:
    if not database.is_file():
        raise BackupError(f"no database at {database}")
    source = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    copy = sqlite3.connect(target)
    try:
        with copy:
            source.backup(copy)  # consistent even while the server writes
    finally:
        source.close()
        copy.close()


# -- restore ----------------------------------------------------------------------


@contextmanager
def open_backup(source: Path, passphrase: str) -> Iterator[tuple[Manifest, Path]]:
    """Check and unseal a backup into a private scratch directory: (manifest, directory)."""
    try:
        handle = open(source, "rb")  # noqa: SIM115 - closed below, after the scratch directory
    except OSError as exc:
        raise BackupError(f"cannot read {source}: {exc.strerror}") from exc
    with handle, tempfile.TemporaryDirectory(prefix="licentia-restore.") as scratch:
        if handle.read(len(MAGIC)) != MAGIC:
            raise BackupError(f"{source} is not a Licentia backup")
        try:
            (length,) = struct.unpack(">I", handle.read(4))
            header = handle.read(length) if length <= 4096 else b""
            meta = json.loads(header)
            salt = base64.b64decode(meta["salt"])
            opslimit, memlimit = int(meta["opslimit"]), int(meta["memlimit"])
        except (struct.error, ValueError, KeyError, TypeError) as exc:
            raise BackupError(f"{source} is a damaged Licentia backup") from exc
        if meta.get("format") != FORMAT or meta.get("kdf") != "argon2id" or len(salt) != _KDF.SALTBYTES:
            raise BackupError(f"{source} was written by another version of Licentia (format {meta.get('format')})")
        if not (0 < opslimit <= _MAX_OPSLIMIT and 0 < memlimit <= _MAX_MEMLIMIT):
            raise BackupError(f"{source} asks for an unreasonable key derivation")
        reader = io.BufferedReader(SealedReader(handle, derive_key(passphrase, salt, opslimit, memlimit), header))
        directory = Path(scratch)
        try:
            with tarfile.open(fileobj=reader, mode="r|") as tar:
                for member in tar:
                    if member.name not in ("manifest.json", "secret.key", "database.sqlite", "database.pgdump"):
                        raise BackupError(f"unexpected {member.name!r} in the backup")
                    tar.extract(member, directory, filter="data")
        except tarfile.TarError as exc:
            raise BackupError("the backup is damaged") from exc
        try:
            manifest = Manifest(**json.loads((directory / "manifest.json").read_bytes()))
        except (OSError, ValueError, TypeError) as exc:
            raise BackupError("the backup has no readable manifest") from exc
        yield manifest, directory


def restore_backup(
    settings: Settings,
    source: Path,
    passphrase: str,
    *,
    force: bool = False,
    actor: str = "restore",
    now: dt.datetime | None = None,
) -> Manifest:
    """Put a backup's database and secret key in place of the configured ones, migrate, resume the token chains.

    Installations that checked in between the backup and the restore hold a
    token newer than the one restored: to the copy-tracking rules that would be
    a copied state, and every active installation would be flagged (or
    blocked). So the restore forgets each installation's token chain: the first
    check after it starts a new chain whatever token it presents, and the
    token rules apply again from the second (a copy checking in after the
    genuine installation is caught as before).
    """
    urls = database_urls(settings.resolved_database_url)
    kind = "sqlite" if urls.is_sqlite else "postgresql"
    with open_backup(source, passphrase) as (manifest, directory):
        if manifest.database != kind:
            raise BackupError(
                f"this backup is of a {manifest.database} database and the server is configured for {kind}"
            )
        secret = (directory / "secret.key").read_bytes().strip()
        _place_secret(settings, secret, force=force)
        if urls.is_sqlite:
            _restore_sqlite(directory / "database.sqlite", Path(make_url(urls.sync).database or ""), force=force)
        else:
            if not force and current_revision(urls) is not None:
                raise BackupError(
                    "the PostgreSQL database is not empty: stop every host and pass --force to replace it"
                )
            _pg_run(
                "pg_restore",
                urls.sync,
                "--clean",
                "--if-exists",
                "--no-owner",
                "--no-privileges",
                "--single-transaction",
                str(directory / "database.pgdump"),
            )
    upgrade(urls)
    _resume_token_chains(urls, manifest, actor=actor, now=now or dt.datetime.now(dt.UTC))
    return manifest


def _resume_token_chains(urls: Any, manifest: Manifest, *, actor: str, now: dt.datetime) -> None:
    from licentia.server.audit import AuditAction, record
    from licentia.server.store.engine import make_sync_engine
    from licentia.server.store.tables import devices

    engine = make_sync_engine(urls, pool_size=1)
    try:
        with engine.begin() as conn:
            count = conn.execute(devices.update().values(token_hash=None, prev_token_hash=None)).rowcount
            record(
                conn,
                AuditAction.STORE_RESTORE,
                manifest.database,
                actor=actor,
                now=now,
                backup_created_at=manifest.created_at,
                backup_revision=manifest.revision,
                token_chains_reset=count,
            )
    finally:
        engine.dispose()


def _place_secret(settings: Settings, secret: bytes, *, force: bool) -> None:
    if settings.secret_key is not None:
        if settings.secret_key.get_secret_value().encode() != secret:
            raise BackupError(
                "LICENTIA_SECRET_KEY differs from the backup's secret key: the restored signing keys could not"
                " sign. Unset it (the backup's key is then written to secret.key) or set it to the backup's key"
            )
        return
    path = settings.data_dir / "secret.key"
    if path.exists() and path.read_bytes().strip() != secret and not force:
        raise BackupError(f"{path} holds another secret key: pass --force to replace it with the backup's")
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    with private_output(path) as temporary:
        temporary.write_bytes(secret)


def _restore_sqlite(copy: Path, database: Path, *, force: bool) -> None:
    if database.exists() and not force:
        raise BackupError(f"a database exists at {database}: stop the server and pass --force to replace it")
    database.parent.mkdir(parents=True, exist_ok=True)
    with private_output(database) as temporary:
        shutil.copyfile(copy, temporary)
        for suffix in ("-wal", "-shm"):  # the old database's log must not be replayed onto the backup
            Path(f"{database}{suffix}").unlink(missing_ok=True)


def _pg_tool(name: str) -> str:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), key=lambda p: int(p.parts[-3]))
    if not candidates:
        raise BackupError(f"{name} is not installed (Debian: apt-get install postgresql-client)")
    return str(candidates[-1])


def _pg_run(tool: str, sync_url: str, *args: str) -> None:
    """Run pg_dump or pg_restore on the configured database; the password goes by environment, not argv."""
    url = make_url(sync_url).set(drivername="postgresql")
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    target = url.set(password=None).render_as_string(hide_password=False)
    done = subprocess.run(  # noqa: S603 - fixed tool, arguments are not a shell line
        [_pg_tool(tool), f"--dbname={target}", *args], capture_output=True, text=True, env=env, check=False
    )
    if done.returncode != 0:
        message = (done.stderr.strip().splitlines() or ["failed"])[-1]
        raise BackupError(f"{tool}: {message}")
