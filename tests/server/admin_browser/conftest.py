"""A real server on demo data, Debian's Chromium through Playwright, and axe-core from npm.

axe-core is installed from the npm registry into ``.cache/axe`` (``scripts/test``
does it; so does this fixture when npm is present). Without npm the
accessibility checks skip and say why; everything else still runs.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import LiveServer

CHROMIUM = "/usr/bin/chromium"
EMAIL, PASSWORD = "ann@vendor.example", "correct horse battery"
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]
ROOT = Path(__file__).resolve().parents[3]
AXE_DIR = Path(os.environ.get("LICENTIA_AXE_DIR", ROOT / ".cache" / "axe"))
AXE_JS = AXE_DIR / "node_modules" / "axe-core" / "axe.min.js"
WIDE, PHONE = 1440, 390


def cli(data_dir: Path, *args: str, stdin: str = "") -> None:
    cmd = [sys.executable, "-m", "licentia", *args, "--data-dir", str(data_dir)]
    done = subprocess.run(cmd, input=stdin, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    data_dir = tmp_path_factory.mktemp("demo") / "server"
    cli(data_dir, "demo", "--devices", "400", "--days", "60")
    cli(data_dir, "admin", "create", EMAIL, "--password-stdin", stdin=PASSWORD + "\n")
    server = LiveServer(data_dir).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=LAUNCH_ARGS)
        yield chromium
        chromium.close()


def new_page(browser: Any, width: int = WIDE, **options: Any) -> Any:
    # bypass_csp: the pages allow only their own scripts; axe-core is injected by the test, not served.
    context = browser.new_context(viewport={"width": width, "height": 900}, bypass_csp=True, **options)
    return context.new_page()


def sign_in(page: Any, url: str) -> None:
    page.goto(url + "/admin/signin")
    page.fill("input[name=email]", EMAIL)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(url + "/admin")


@pytest.fixture(scope="module")
def axe_source() -> str | None:
    return load_axe()


def load_axe() -> str | None:
    """axe-core's script, installed from npm into the cache if missing; None when npm is absent."""
    if not AXE_JS.exists():
        npm = shutil.which("npm")
        if npm is None:
            return None
        AXE_DIR.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [npm, "install", "--no-audit", "--no-fund", "--loglevel=error", "--prefix", str(AXE_DIR), "axe-core@4"],
            check=True,
            timeout=300,
            capture_output=True,
        )
    return AXE_JS.read_text()


@pytest.fixture
def admin_page(demo_server: LiveServer, browser: Any) -> Iterator[Any]:
    """A page at 1440 px, signed in to the demo server's admin UI."""
    opened = new_page(browser)
    sign_in(opened, demo_server.url)
    yield opened
    opened.context.close()
