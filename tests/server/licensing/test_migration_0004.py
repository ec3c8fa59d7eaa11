"""0003 -> 0004 with data and back: every license gets its product's policy, nothing it allowed changes."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command

from licentia.server.store.engine import alembic_config, current_revision, database_urls, make_sync_engine, upgrade


def _seed(conn: sa.Connection) -> None:
    for product_id, slug, max_devices in ((1, "acme", 5), (2, "zeta", 2)):
        conn.execute(
            sa.text(
                "INSERT INTO products (id, slug, name, collect_facts, facts_retention_days, notify, created_at)"
                " VALUES (:id, :slug, :slug, false, 365, '{}', '2026-01-01 00:00:00')"
            ),
            {"id": product_id, "slug": slug},
        )
        conn.execute(
            sa.text(
                "INSERT INTO policies (product_id, trial_days, max_devices, seat_release_days, lease_days,"
                " grace_days, fingerprint_min_match, on_clone, allow_virtual_machines)"
                " VALUES (:id, 30, :max, 180, 7, 7, 2, 'flag', true)"
            ),
            {"id": product_id, "max": max_devices},
        )
    licenses = [(1, 1, '{"max_devices": 20}'), (2, 1, "{}"), (3, 2, "{}")]
    for license_id, product_id, overrides in licenses:
        conn.execute(
            sa.text(
                "INSERT INTO licenses (id, product_id, key_prefix, key_hash, state, features, policy_overrides,"
                " created_at, updated_at) VALUES (:id, :product, 'ABCDE', :hash, 'active', '[\"pdf\"]', :overrides,"
                " '2026-01-02 00:00:00', '2026-01-02 00:00:00')"
            ),
            {"id": license_id, "product": product_id, "hash": f"h{license_id}", "overrides": overrides},
        )
    conn.execute(sa.text("INSERT INTO machines (id, product_id, first_seen) VALUES ('mc_1', 1, '2026-01-03 00:00:00')"))
    conn.execute(
        sa.text(
            "INSERT INTO devices (id, product_id, machine_id, is_virtual, first_seen, last_seen, seen_day, status,"
            " secret_hash, usage_count, clone_suspected, facts, license_id, activated_at) VALUES ('dv_1', 1, 'mc_1',"
            " false, '2026-01-03 00:00:00', '2026-01-03 00:00:00', '2026-01-03', 'registered', 'x', 0, false, '{}',"
            " 1, '2026-01-04 10:00:00')"
        )
    )


def test_every_license_gets_its_products_policy_and_back(settings):
    urls = database_urls(settings.resolved_database_url)
    upgrade(urls, "0003")
    engine = make_sync_engine(urls, pool_size=1)
    try:
        with engine.begin() as conn:
            _seed(conn)
        upgrade(urls, "0004")
        assert current_revision(urls) == "0004"
        with engine.connect() as conn:
            policies = conn.execute(
                sa.text("SELECT id, product_id, name, is_default, kind, expiry_mode, max_devices FROM policies")
            ).all()
            licenses = {
                r.id: r
                for r in conn.execute(
                    sa.text(
                        "SELECT id, policy_id, policy_overrides, first_activated_at, maintenance_until FROM licenses"
                    )
                ).all()
            }
        by_product = {p.product_id: p for p in policies}
        assert {(p.name, bool(p.is_default), p.kind, p.expiry_mode) for p in policies} == {
            ("Default", True, "node_locked", "perpetual")
        }
        assert licenses[1].policy_id == licenses[2].policy_id == by_product[1].id
        assert licenses[3].policy_id == by_product[2].id
        assert "20" in str(licenses[1].policy_overrides)  # the license's own limit stays
        assert str(licenses[1].first_activated_at).startswith("2026-01-04 10:00")
        assert licenses[2].first_activated_at is None and licenses[1].maintenance_until is None

        # A named policy is a license type of its own; downgrade folds its limits into the license.
        with engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO policies (product_id, name, is_default, kind, trial_days, max_devices,"
                    " seat_release_days, lease_days, grace_days, fingerprint_min_match, on_clone,"
                    " allow_virtual_machines, floating_lease_seconds, borrow_days, expiry_mode, entitlements, meters,"
                    " transfer_period_days) VALUES (1, 'Site', false, 'node_locked', 30, 50, 30, 7, 7, 2, 'flag',"
                    " true, 900, 0, 'perpetual', '{}', '{}', 365)"
                )
            )
            site = conn.execute(sa.text("SELECT id FROM policies WHERE name = 'Site'")).scalar_one()
            conn.execute(sa.text("UPDATE licenses SET policy_id = :p WHERE id = 2"), {"p": site})
        command.downgrade(alembic_config(urls.sync), "0003")
        assert current_revision(urls) == "0003"
        with engine.connect() as conn:
            count = conn.execute(sa.text("SELECT count(*) FROM policies")).scalar_one()
            overrides = dict(conn.execute(sa.text("SELECT id, policy_overrides FROM licenses")).all())
        assert count == 2  # one per product again
        assert "50" in str(overrides[2]) and "30" in str(overrides[2])
        assert "20" in str(overrides[1]) and str(overrides[3]) in ("{}", "{}")
        upgrade(urls, "0004")  # and up again
        assert current_revision(urls) == "0004"
    finally:
        engine.dispose()
