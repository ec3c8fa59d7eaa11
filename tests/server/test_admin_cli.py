"""``licentia admin create`` and ``licentia rollup`` and ``licentia demo`` through the real CLI."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from licentia.server.rollups.headline import full_licenses
from licentia.server.store.models import AdminUser, DailyRollup, Device, table_of
from licentia.server.store.tables import products, rollups


def _cli(data_dir: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "licentia", *args, "--data-dir", str(data_dir)]
    return subprocess.run(cmd, input=stdin, capture_output=True, text=True, timeout=120, check=False)


def test_admin_create_reads_the_password_from_stdin(tmp_path: Path) -> None:
    made = _cli(tmp_path, "admin", "create", "Root@Vendor.example", "--password-stdin", stdin="long enough pw\n")
    assert made.returncode == 0, made.stderr
    assert "long enough pw" not in made.stdout
    short = _cli(tmp_path, "admin", "create", "b@vendor.example", "--password-stdin", stdin="short\n")
    assert short.returncode == 1 and "at least 10" in short.stderr
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'licentia.db'}")
    with engine.connect() as conn:
        row = conn.execute(sa.select(table_of(AdminUser))).one()
    engine.dispose()
    assert row.email == "root@vendor.example" and row.password_hash.startswith("$argon2id$")


def test_demo_then_rollup(tmp_path: Path) -> Any:
    demo = _cli(tmp_path, "demo", "--devices", "200", "--days", "20")
    assert demo.returncode == 0, demo.stderr
    rollup = _cli(tmp_path, "rollup", "--all")
    assert rollup.returncode == 0 and "rollups recomputed" in rollup.stdout
    again = _cli(tmp_path, "demo", "--devices", "10")
    assert again.returncode == 1 and "fresh database" in again.stderr
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'licentia.db'}")
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(table_of(Device))).scalar_one() == 200
        assert conn.execute(sa.select(sa.func.count()).select_from(table_of(DailyRollup))).scalar_one() > 100
        # Today was counted up to the recompute's moment, as the minute's run counts it: the page
        # counts on live from there, and has its seat-limit queue, before any server ran.
        product_id = conn.execute(sa.select(products.c.id).where(products.c.slug == "my-app")).scalar_one()
        today = conn.execute(sa.select(sa.func.max(rollups.c.day))).scalar_one()  # the recompute's day
        assert full_licenses(conn, product_id=product_id, today=today) is not None
    engine.dispose()
