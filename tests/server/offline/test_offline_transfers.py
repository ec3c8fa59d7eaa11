"""Air-gapped deactivation then activation on another computer is a move, counted with the online ones."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa

from licentia.server.devices.transfers import license_transfers
from tests.server.offline.test_offline_api import _machine, _setup


def test_offline_moves_count_against_the_limit_and_a_computer_may_take_its_seat_back(
    client: Any, engine: Any, clock: Any, product: Any, tmp_path: Path
) -> None:
    headers, key = _setup(engine, clock, max_devices=1)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE policies SET transfer_limit = 1, transfer_period_days = 30"))
        license_id = int(conn.execute(sa.text("SELECT id FROM licenses")).scalar_one())
    a, b = _machine(tmp_path, product, clock, "a"), _machine(tmp_path, product, clock, "bb")

    def activate(app: Any) -> Any:
        return client.post(
            "/v1/admin/offline/activations", json={"request": app.activation_request(key)}, headers=headers
        )

    def give_back(app: Any) -> None:
        freed = client.post(
            "/v1/admin/offline/deactivations", json={"proof": app.deactivate_offline()}, headers=headers
        )
        assert freed.status_code == 200 and freed.json()["seat_freed"] is True

    done = activate(a)
    assert done.status_code == 200, done.text  # the first seat: not a move
    a.install_activation(done.json()["response"])
    give_back(a)
    clock.advance(hours=2)
    moved = activate(b)  # a's seat, freed by its proof, taken by another computer: the one move allowed
    assert moved.status_code == 200, moved.text
    b.install_activation(moved.json()["response"])
    give_back(b)
    clock.advance(hours=2)
    refused = activate(a)
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "transfer_limit"
    assert refused.json()["error"]["next_transfer_at"] == "2026-02-04T11:00:00Z"
    assert int(refused.headers["Retry-After"]) == (30 * 24 - 2) * 3600
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM offline_activations")).scalar_one() == 2  # nothing kept
        assert license_transfers(conn, license_id, clock.now()).used == 1
    back = activate(b)  # the computer whose proof freed the seat takes it back: not a move
    assert back.status_code == 200, back.text
    with engine.connect() as conn:
        assert license_transfers(conn, license_id, clock.now()).used == 1
