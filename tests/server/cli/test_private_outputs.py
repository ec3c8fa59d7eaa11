"""The CLI under the usual umask (022): the database, backups and exports are 0600 from creation,
an emailed key waits sealed, and an order reference already used is one line, no traceback."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from licentia.server.cli import main


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    for name in ("LICENTIA_DATABASE_URL", "LICENTIA_SECRET_KEY", "LICENTIA_DATA_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    previous = os.umask(0o022)
    try:
        yield tmp_path / "data"
    finally:
        os.umask(previous)


def licentia(capsys: pytest.CaptureFixture[str], data_dir: Path, *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main([*args, "--data-dir", str(data_dir)])
    out, err = capsys.readouterr()
    return code, out, err


def test_database_backup_and_export_are_private(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert licentia(capsys, data_dir, "init")[0] == 0
    database = data_dir / "licentia.db"
    for part in (database, Path(f"{database}-wal"), Path(f"{database}-shm")):
        if part.exists():
            assert mode(part) == 0o600, part

    code, out, _ = licentia(
        capsys, data_dir, "license", "issue", "--product", "my-app", "--email", "a@example.com", "--send-email"
    )
    key = out.strip()
    assert code == 0 and len(key) == 29
    # Waiting for SMTP (unset), the key is in the outbox only sealed: not in the database's bytes.
    stored = b"".join(p.read_bytes() for p in data_dir.iterdir() if p.name.startswith("licentia.db"))
    assert key.encode() not in stored

    copy = data_dir.parent / "copy.licentia-backup"
    phrase = data_dir.parent / "phrase"
    phrase.write_text("correct horse battery staple\n")
    assert licentia(capsys, data_dir, "backup", str(copy), "--passphrase-file", str(phrase))[0] == 0
    assert mode(copy) == 0o600
    # Sealed: neither the database nor the secret key that unlocks the signing keys rests in clear.
    sealed = copy.read_bytes()
    assert b"SQLite format" not in sealed and (data_dir / "secret.key").read_bytes().strip() not in sealed

    export = data_dir.parent / "events.csv"
    export.write_text("an older export\n")
    export.chmod(0o644)
    assert licentia(capsys, data_dir, "export", "-o", str(export))[0] == 0
    assert mode(export) == 0o600 and export.read_text().startswith("id,")


def test_an_order_reference_already_used_is_one_line(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert licentia(capsys, data_dir, "init")[0] == 0
    issue = ("license", "issue", "--product", "my-app", "--email", "a@example.com", "--order", "ORD-9")
    code, out, _ = licentia(capsys, data_dir, *issue)
    assert code == 0
    code, again, err = licentia(capsys, data_dir, *issue)
    assert code == 1 and again == ""
    assert err.startswith("licentia: error: order reference 'ORD-9' (cli) is already used by license 1 (")
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert out.strip()[:5] in err
