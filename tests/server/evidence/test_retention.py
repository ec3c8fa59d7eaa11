"""Fact retention: old facts are blanked, recent ones kept; the product facts switch."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from licentia.server.cli import build_parser, main
from licentia.server.evidence.retention import purge_facts
from licentia.server.store.models import Device, Product, table_of
from tests.conftest import START
from tests.server.evidence.conftest import events_of
from tests.server.evidence.history import History

FACTS = {"computer_name": "PC-1", "user_name": "ann"}


def test_purge_blanks_only_facts_older_than_the_retention(engine, product):
    with engine.begin() as conn:
        conn.execute(table_of(Product).update().values(facts_retention_days=30))
    history = History(engine, product)
    old_device = history.device(at=START - dt.timedelta(days=40), facts=FACTS)
    recent_device = history.device(at=START - dt.timedelta(days=5), facts=FACTS)
    old, recent = START - dt.timedelta(days=31), START - dt.timedelta(days=29)
    history.event(old_device, "install", at=old, client_facts=FACTS)
    history.event(
        old_device,
        "clone_suspected",
        at=old,
        client_facts=FACTS,
        data={"reason": "stale_token", "other_side": {"facts": FACTS}},
    )
    history.event(recent_device, "install", at=recent, client_facts=FACTS)

    done = purge_facts(engine, now=START)
    assert (done.events, done.devices) == (2, 1)
    install_old, clone_old, install_recent = events_of(engine)
    assert install_old.client_facts == {} and install_old.server_facts == {}
    assert clone_old.client_facts == {} and clone_old.data == {"reason": "stale_token"}
    assert install_old.kind == "install" and install_old.received_at == old  # the event itself stays
    assert install_recent.client_facts == FACTS and install_recent.server_facts["external_ip"]
    with engine.connect() as conn:
        facts = dict(conn.execute(sa.select(table_of(Device).c.id, table_of(Device).c.facts)).all())
    assert facts == {old_device: {}, recent_device: FACTS}
    # A second run finds nothing left to do.
    assert (purge_facts(engine, now=START).events, purge_facts(engine, now=START).devices) == (0, 0)


def test_product_facts_command_and_purge_command(migrated, engine, product, capsys, monkeypatch):
    monkeypatch.setenv("LICENTIA_SECRET_KEY", migrated.secret_key.get_secret_value())
    common = ["--data-dir", str(migrated.data_dir), "--database-url", migrated.database_url]
    assert main(["product", "facts", "acme", "--enable", "--retention-days", "90", *common]) == 0
    assert "client facts for acme: on; facts kept 90 days" in capsys.readouterr().out
    with engine.connect() as conn:
        row = conn.execute(sa.select(table_of(Product))).one()
    assert row.collect_facts is True and row.facts_retention_days == 90
    assert main(["product", "facts", "acme", "--disable", *common]) == 0
    assert "off" in capsys.readouterr().out
    # The spine's own product actions still parse and dispatch (not run here: they keep their engine open).
    args = build_parser().parse_args(["product", "show", "acme"])
    assert args.action == "show" and args.slug == "acme" and callable(args.run)
    assert main(["evidence", "purge", "--product", "acme", *common]) == 0
    assert "facts blanked on 0 events" in capsys.readouterr().out
