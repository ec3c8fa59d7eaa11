"""Every way a license key is made keeps it sealed beside its hash: the admin UI, the CLI and the demo.

(The developer API and payment providers: ``test_resend_key.py`` and ``tests/server/payments/test_resend_paid_key.py``.)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet

from licentia.core.licensekeys import key_hash
from licentia.server.cli import main
from licentia.server.notify.sealing import open_value
from licentia.server.store.tables import licenses
from tests.server.resend.conftest import KEY


def kept(engine: Any, key: str, fernet: Fernet) -> str:
    """The kept key of the license found by ``key``'s hash, opened with the server's key."""
    with engine.connect() as conn:
        sealed = conn.execute(sa.select(licenses.c.key_sealed).where(licenses.c.key_hash == key_hash(key))).scalar_one()
    assert key not in sealed
    return open_value(sealed, fernet, what="key")


def test_a_key_issued_in_the_admin_ui_without_an_email_is_kept_sealed(
    client: Any, engine: Any, settings: Any, csrf: str
) -> None:
    form = {"csrf": csrf, "product": "acme", "email": "walk-in@example.com"}  # "email the key" left unticked
    page = client.post("/admin/licenses", data=form).text
    [key] = KEY.findall(page)
    assert kept(engine, key, settings.fernet()) == key


def test_the_cli_and_the_demo_keep_the_keys_sealed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("LICENTIA_DATABASE_URL", "LICENTIA_DATA_DIR", "LICENTIA_CONFIG", "LICENTIA_SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    data_dir = tmp_path / "data"
    # A size whose history sells licenses whatever the weekday it runs on (the demo leans on weekdays).
    assert main(["demo", "--devices", "200", "--days", "40", "--data-dir", str(data_dir)]) == 0
    capsys.readouterr()
    issue = ["license", "issue", "--product", "my-app", "--email", "cli@example.com"]
    assert main([*issue, "--data-dir", str(data_dir)]) == 0
    key = capsys.readouterr().out.strip()
    fernet = Fernet((data_dir / "secret.key").read_bytes().strip())
    engine = sa.create_engine(f"sqlite:///{data_dir / 'licentia.db'}")
    try:
        assert kept(engine, key, fernet) == key
        with engine.connect() as conn:
            demo = conn.execute(sa.select(licenses.c.key_sealed).where(licenses.c.key_hash != key_hash(key))).all()
        assert demo and all(KEY.fullmatch(open_value(row.key_sealed, fernet, what="key")) for row in demo)
    finally:
        engine.dispose()
