"""docs/notifications.md tells how webhooks are managed today; its CLI lines run as written."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

from licentia.server.cli import main
from licentia.server.notify.catalog import WebhookEvent

DOC = Path(__file__).parents[3] / "docs" / "notifications.md"


def _webhook_commands() -> list[list[str]]:
    section = DOC.read_text().split("## Webhooks", 1)[1]
    found = re.search(r"```sh\n(.*?)```", section, re.S)
    assert found, "no shell snippet in the Webhooks section"
    lines = [line.split("#", 1)[0].strip() for line in found.group(1).splitlines()]
    return [shlex.split(line)[1:] for line in lines if line]


def test_the_documented_commands_run(engine: Any, migrated: Any, product: Any, capsys: Any) -> None:
    db = ["--database-url", migrated.resolved_database_url, "--data-dir", str(migrated.data_dir)]
    for args in _webhook_commands():
        if args[:2] in (["webhook", "test"], ["webhook", "redeliver"]):
            continue  # they need a receiver listening: tests/server/notify/test_webhook_api.py
        args = ["1" if a == "3" else a for a in args]  # the docs' endpoint 3 is this database's first
        assert main([*args, *db]) == 0, args
    out = capsys.readouterr().out
    assert "#1 active https://hooks.acme.example/licentia  [acme] every event" in out
    assert "new signing secret" in out and "webhook #1 disabled" in out


def test_the_docs_list_every_event() -> None:
    text = DOC.read_text()
    assert "There is no admin page" not in text
    for event in WebhookEvent:
        assert f"`{event.value}`" in text, event
