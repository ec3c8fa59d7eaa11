"""``licentia notify``: test-email through a real SMTP server, status and retry of the outbox."""

from __future__ import annotations

import sqlalchemy as sa

from licentia.server.cli import main
from licentia.server.notify.outbox import enqueue_email
from licentia.server.store.tables import outbox


def test_test_email_sends_through_the_configured_smtp(settings, smtp, monkeypatch, capsys):
    monkeypatch.setenv("LICENTIA_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("LICENTIA_SMTP_PORT", str(smtp.port))
    assert main(["notify", "test-email", "me@vendor.example", "--data-dir", str(settings.data_dir)]) == 0
    assert smtp.messages[0]["To"] == "me@vendor.example"
    assert "sent to me@vendor.example" in capsys.readouterr().out
    smtp.stop()
    assert main(["notify", "test-email", "me@vendor.example", "--data-dir", str(settings.data_dir)]) == 1
    assert "not sent: smtp:" in capsys.readouterr().err


def test_status_lists_failed_messages_and_retry_revives_them(engine, migrated, clock, capsys, monkeypatch):
    monkeypatch.setenv("LICENTIA_OUTBOX_MAX_ATTEMPTS", "3")
    with engine.begin() as conn:
        enqueue_email(conn, to=["ops@vendor.example"], subject="s", text="t", topic="install", now=clock.now())
        conn.execute(outbox.update().values(attempts=3, last_error="gave up: smtp: refused"))
    db = ["--database-url", migrated.resolved_database_url, "--data-dir", str(migrated.data_dir)]
    assert main(["notify", "status", *db]) == 0
    out = capsys.readouterr().out
    assert "waiting 0  failed 1  sent 0" in out
    assert "#1 email/install to ops@vendor.example: gave up: smtp: refused" in out
    assert main(["notify", "retry", *db]) == 0
    assert "1 message will" in capsys.readouterr().out
    with engine.connect() as conn:
        assert conn.execute(sa.select(outbox.c.attempts)).scalar_one() == 0
