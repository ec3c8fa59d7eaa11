"""docs/notifications.md tells how webhooks are made today; its snippet runs as written."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from licentia.server.store.engine import database_urls, make_sync_engine, upgrade
from licentia.server.store.models import Webhook, table_of

DOC = Path(__file__).parents[3] / "docs" / "notifications.md"


def _webhook_snippet() -> str:
    section = DOC.read_text().split("## Webhooks", 1)[1]
    found = re.search(r"```python\n(.*?)```", section, re.S)
    assert found, "no Python snippet in the Webhooks section"
    return found.group(1)


def test_the_documented_webhook_snippet_creates_a_webhook(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    data_dir = tmp_path / "licentia-data"
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("LICENTIA_DATABASE_URL", raising=False)
    monkeypatch.setenv("LICENTIA_DATA_DIR", str(data_dir))
    url = database_urls(f"sqlite:///{(data_dir / 'licentia.db').resolve()}")
    upgrade(url)
    exec(compile(_webhook_snippet(), str(DOC), "exec"), {})
    printed = capsys.readouterr().out
    engine = make_sync_engine(url, pool_size=1)
    try:
        with engine.connect() as conn:
            hook = conn.execute(sa.select(table_of(Webhook))).one()
    finally:
        engine.dispose()
    assert hook.url == "https://hooks.acme.example/licentia" and hook.topics == ["install", "piracy"]
    assert f"webhook {hook.id}, secret whsec_" in printed


def test_the_docs_do_not_promise_webhook_pages_or_api_calls() -> None:
    text = DOC.read_text()
    assert "admin UI and developer API use it" not in text
    assert "There is no admin page, developer API call or CLI command for webhooks yet" in text
