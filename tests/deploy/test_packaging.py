"""The Python package as PyPI and pip see it: the wheel names its license as an SPDX expression
and carries the license text, and building it warns of nothing deprecated."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from email.parser import Parser
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_wheel_names_its_license_in_spdx_and_builds_without_deprecations(tmp_path: Path) -> None:
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "-w", str(tmp_path), "-v"],
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    assert "DeprecationWarning" not in built.stdout + built.stderr
    (wheel,) = tmp_path.glob("licentia-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        metadata_name = next(n for n in names if n.endswith(".dist-info/METADATA"))
        metadata = Parser().parsestr(archive.read(metadata_name).decode())
        assert metadata["License-Expression"] == "Apache-2.0"
        assert metadata.get_all("License-File") == ["LICENSE"]
        license_text = next(n for n in names if n.endswith(".dist-info/licenses/LICENSE"))
        assert b"Apache License" in archive.read(license_text)
        assert any(n.endswith("licentia/py.typed") for n in names)
