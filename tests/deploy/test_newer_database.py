"""A host of the previous release serves on beside a database a newer release migrated (expand steps).

During a rolling upgrade the new release migrates first, while hosts of the
previous one still serve; they must stay in the load balancer's pool and
restart without touching the schema. A database behind the code is still not
ready (tests/server/test_health.py).
"""

from __future__ import annotations

import sqlalchemy as sa

from licentia.server.store.engine import current_revision, database_urls, upgrade
from licentia.server.store.snapshot import ahead_of_code, head_revision


def _migrate_as_a_newer_release(engine: sa.Engine) -> None:
    """What a newer release's expand migration leaves: a new nullable column, and its revision."""
    with engine.begin() as conn:
        conn.execute(sa.text("ALTER TABLE devices ADD COLUMN newer_note TEXT"))
        conn.execute(sa.text("UPDATE alembic_version SET version_num = 'zz99_newer_release'"))


def test_a_database_a_newer_release_migrated_is_ready_and_left_as_it_is(client, engine, migrated):
    _migrate_as_a_newer_release(engine)
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json() == {"status": "ready", "revision": "zz99_newer_release"}
    urls = database_urls(migrated.resolved_database_url)
    upgrade(urls)  # what every start of this release does: it must neither fail nor touch the schema
    assert current_revision(urls) == "zz99_newer_release"
    assert "newer_note" in {c["name"] for c in sa.inspect(engine).get_columns("devices")}
    # and the host answers its callers as before
    assert client.post("/v1/ping").status_code == 200


def test_only_unknown_revisions_count_as_ahead():
    assert ahead_of_code("zz99_newer_release")
    assert not ahead_of_code(head_revision())
    assert not ahead_of_code("0001")  # behind: the code migrates it
    assert not ahead_of_code(None)  # empty: the code migrates it
