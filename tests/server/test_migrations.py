"""Migrations from empty to head produce exactly the schema the models describe."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from licentia.server.store import tables  # noqa: F401 - every model module, so Base.metadata holds every table
from licentia.server.store.engine import current_revision, database_urls, make_sync_engine, upgrade
from licentia.server.store.models import Base, compared_with_database
from licentia.server.store.snapshot import head_revision

HEAD = head_revision()


def test_migrations_match_models(settings):
    urls = database_urls(settings.resolved_database_url)
    upgrade(urls)
    engine = make_sync_engine(urls, pool_size=1)
    try:
        with engine.connect() as conn:
            opts = {"compare_type": True, "include_object": compared_with_database}
            context = MigrationContext.configure(conn, opts=opts)
            diff = compare_metadata(context, Base.metadata)
    finally:
        engine.dispose()
    assert diff == [], f"write a migration (scripts/new-migration): {diff}"
    assert current_revision(urls) == HEAD


def test_upgrade_is_idempotent(settings):
    urls = database_urls(settings.resolved_database_url)
    upgrade(urls)
    upgrade(urls)
    assert current_revision(urls) == HEAD


def test_readers_take_no_write_lock_on_sqlite(tmp_path):
    """A dashboard query must never hold up the status checks (SQLite's single writer)."""
    import sqlalchemy as sa

    from licentia.server.store.engine import READ_ONLY

    urls = database_urls(f"sqlite:///{tmp_path / 'x.db'}")
    upgrade(urls)
    reader_engine, writer_engine = make_sync_engine(urls, pool_size=1), make_sync_engine(urls, pool_size=1)
    try:
        with reader_engine.connect() as reader:
            reader = reader.execution_options(**{READ_ONLY: True})
            reader.execute(sa.text("SELECT count(*) FROM devices")).scalar_one()  # snapshot held open
            with writer_engine.connect() as writer:
                writer.connection.dbapi_connection.execute("PRAGMA busy_timeout=0")  # fail, don't wait
                with writer.begin():
                    writer.execute(sa.text("DELETE FROM rate_limits"))
            with reader_engine.connect() as plain:  # a connection without the option writes as usual
                assert plain.get_execution_options().get(READ_ONLY) is None
    finally:
        reader_engine.dispose()
        writer_engine.dispose()


def test_upgrade_keeps_devices_and_fills_in_the_day_they_were_last_seen(settings):
    """0001 -> 0002 on a database in use: every device gets its seen_day, the index moves."""
    import sqlalchemy as sa
    from alembic import command

    from licentia.server.store.engine import alembic_config

    urls = database_urls(settings.resolved_database_url)
    upgrade(urls, "0001")
    engine = make_sync_engine(urls, pool_size=1)
    try:
        with engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO products (id, slug, name, collect_facts, facts_retention_days, notify, created_at)"
                    " VALUES (1, 'acme', 'Acme', true, 365, '{}', '2026-01-01 00:00:00')"
                )
            )
            for n, seen in enumerate(("2026-03-04 23:59:59.500000", "2026-03-05 00:00:00.000000")):
                conn.execute(
                    sa.text(
                        "INSERT INTO devices (id, product_id, is_virtual, first_seen, last_seen, status, secret_hash,"
                        " usage_count, clone_suspected, facts)"
                        " VALUES (:id, 1, false, :seen, :seen, 'trial', 'x', 0, false, '{}')"
                    ),
                    {"id": f"dv_{n}", "seen": seen},
                )
        upgrade(urls)
        with engine.connect() as conn:
            days = dict(conn.execute(sa.text("SELECT id, seen_day FROM devices ORDER BY id")).all())
            indexes = {ix["name"] for ix in sa.inspect(conn).get_indexes("devices")}
        assert {k: str(v) for k, v in days.items()} == {"dv_0": "2026-03-04", "dv_1": "2026-03-05"}
        assert "ix_devices_product_seen_day" in indexes and "ix_devices_product_last_seen" not in indexes
        if engine.dialect.name == "postgresql":
            with engine.connect() as conn:
                options = conn.execute(sa.text("SELECT reloptions FROM pg_class WHERE relname = 'devices'")).scalar()
            assert options == ["fillfactor=80"]
        command.downgrade(alembic_config(urls.sync), "0001")
        assert current_revision(urls) == "0001"
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM devices")).scalar() == 2
    finally:
        engine.dispose()


def test_devices_become_installations_sharing_machines_and_back(settings):
    """0002 -> 0003 with data: matching hardware shares a machine, its latest trial and the vendor's block."""
    import sqlalchemy as sa
    from alembic import command

    from licentia.server.store.engine import alembic_config

    urls = database_urls(settings.resolved_database_url)
    upgrade(urls, "0002")
    engine = make_sync_engine(urls, pool_size=1)
    insert = sa.text(
        "INSERT INTO devices (id, product_id, external_id, is_virtual, first_seen, last_seen, seen_day, status,"
        " status_reason, trial_end, fp_machine, fp_disk, fp_cpu, fp_mac, secret_hash, usage_count,"
        " clone_suspected, facts) VALUES (:id, 1, :ext, false, :first, :first, '2026-03-01', :status, :reason,"
        " :trial_end, :m, :d, :c, :n, 'x', 0, false, '{}')"
    )
    rows = [
        # One computer, three data paths: the second restarted its trial, the third was blocked by the vendor.
        ("dv_a", None, "2026-03-01 10:00:00", "trial_expired", None, "2026-03-31 10:00:00", "m1", "d1", "c1", "n1"),
        ("dv_b", None, "2026-03-05 10:00:00", "trial", None, "2026-04-04 10:00:00", "m1", "d1", "c1", "n1"),
        ("dv_c", None, "2026-03-06 10:00:00", "blocked", "leaked", "2026-04-05 10:00:00", "m1", "d2", "c1", "n1"),
        # Another computer of the same CPU model: a machine of its own.
        ("dv_d", None, "2026-03-02 10:00:00", "trial", None, "2026-04-01 10:00:00", "m2", "d9", "c1", "n9"),
        # A web-API device without hardware, and a copy blocked by policy (not the vendor's block).
        ("dv_e", "till-1", "2026-03-03 10:00:00", "trial", None, "2026-04-02 10:00:00", None, None, None, None),
        ("dv_f", None, "2026-03-04 10:00:00", "blocked", "clone_suspected", None, "m3", "d3", "c3", "n3"),
    ]
    try:
        with engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO products (id, slug, name, collect_facts, facts_retention_days, notify, created_at)"
                    " VALUES (1, 'acme', 'Acme', true, 365, '{}', '2026-01-01 00:00:00')"
                )
            )
            conn.execute(
                sa.text(
                    "INSERT INTO policies (product_id, trial_days, max_devices, seat_release_days, lease_days,"
                    " grace_days, fingerprint_min_match, on_clone, allow_virtual_machines)"
                    " VALUES (1, 30, 5, 180, 7, 7, 2, 'flag', true)"
                )
            )
            for device_id, ext, first, status, reason, trial_end, m, d, c, n in rows:
                conn.execute(
                    insert,
                    {
                        "id": device_id,
                        "ext": ext,
                        "first": first,
                        "status": status,
                        "reason": reason,
                        "trial_end": trial_end,
                        "m": m,
                        "d": d,
                        "c": c,
                        "n": n,
                    },
                )
        upgrade(urls)
        with engine.connect() as conn:
            machine_of = dict(conn.execute(sa.text("SELECT id, machine_id FROM devices")).all())
            found = {
                r.id: r for r in conn.execute(sa.text("SELECT id, trial_end, restriction, fp_disk FROM machines")).all()
            }
        assert machine_of["dv_a"] == machine_of["dv_b"] == machine_of["dv_c"]
        assert len(set(machine_of.values())) == 4
        shared = found[machine_of["dv_a"]]
        assert str(shared.trial_end).startswith("2026-04-05") and shared.restriction == "blocked"
        assert found[machine_of["dv_f"]].restriction is None  # a copy's block stays the installation's
        assert found[machine_of["dv_e"]].fp_disk is None
        command.downgrade(alembic_config(urls.sync), "0002")
        with engine.connect() as conn:
            back = {
                r.id: r
                for r in conn.execute(sa.text("SELECT id, trial_end, status, fp_disk, fp_machine FROM devices")).all()
            }
        assert set(back) == {r[0] for r in rows}
        assert back["dv_c"].status == "blocked" and back["dv_d"].fp_machine == "m2"
        assert str(back["dv_b"].trial_end).startswith("2026-04-05")
    finally:
        engine.dispose()
