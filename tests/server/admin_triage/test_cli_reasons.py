"""The CLI equivalents of the confirmed actions take a reason, which the audit log keeps."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from licentia.server.cli import main
from licentia.server.store.models import AuditEntry, Device, License, table_of


def _licentia(data_dir: Path, *args: str) -> None:
    assert main([*args, "--data-dir", str(data_dir)]) == 0


def test_revoke_block_and_token_revoke_from_the_cli_keep_their_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data_dir = tmp_path / "data"
    _licentia(data_dir, "demo", "--devices", "40", "--days", "12")
    _licentia(data_dir, "admin", "token", "--name", "shop")
    _licentia(data_dir, "license", "issue", "--product", "my-app", "--email", "bob@example.com")
    engine = sa.create_engine(f"sqlite:///{data_dir / 'licentia.db'}")
    try:
        with engine.connect() as conn:
            device_id = conn.execute(sa.select(table_of(Device).c.id).limit(1)).scalar_one()
            license_id = conn.execute(sa.select(sa.func.max(table_of(License).c.id))).scalar_one()
        _licentia(data_dir, "license", "revoke", str(license_id), "--reason", "refund of DEMO-00001")
        _licentia(data_dir, "device", "set-status", device_id, "--status", "blocked", "--reason", "chargeback")
        _licentia(data_dir, "admin", "revoke-token", "--token-id", "1", "--reason", "leaked")
        entries = table_of(AuditEntry)
        with engine.connect() as conn:
            reasons = {
                r.action: r.details.get("reason")
                for r in conn.execute(sa.select(entries.c.action, entries.c.details).order_by(entries.c.id))
            }
    finally:
        engine.dispose()
    assert reasons["license.revoke"] == "refund of DEMO-00001"
    assert reasons["device.set_status"] == "chargeback"
    assert reasons["token.revoke"] == "leaked"
    capsys.readouterr()
