"""A license type's transfer limit on the public API: what counts as a move to another machine, and what does not."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import pytest
import sqlalchemy as sa

from licentia.core.clock import UTC, to_iso
from licentia.server.devices.changes import free_seat
from licentia.server.devices.transfers import Move, Outcome, Pending, classify, judge, license_transfers
from licentia.server.licenses.seat_release import release_all
from licentia.server.licenses.service import issue_license
from tests.server.helpers import Installation, verified


def limit_moves(engine: Any, limit: int | None, days: int = 30, **knobs: int) -> None:
    """The product's default license type allows ``limit`` moves per ``days`` (None: no limit)."""
    sets = ", ".join(f"{name} = :{name}" for name in knobs)
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                f"UPDATE policies SET transfer_limit = :limit, transfer_period_days = :days{', ' if sets else ''}{sets}"
            ),
            {"limit": limit, "days": days, **knobs},
        )


def issue(engine: Any, clock: Any, seats: int = 1) -> Any:
    with engine.begin() as conn:
        return issue_license(conn, product="acme", email="hopper@example.com", now=clock.now(), max_devices=seats)


def computer(client: Any, product: Any, name: str) -> Installation:
    app = Installation(client, product.public_key, machine=name, disk=f"{name}-disk", mac=f"{name}-mac")
    app.check()
    return app


def activate(app: Installation, key: str) -> Any:
    """``POST /v1/activate``; a signed answer moves the installation's token on, as the SDK's does."""
    response = app.call("/v1/activate", key=key)
    if response.status_code == 200:
        app.token = verified(response, app.public_key)["token"]
    return response


def error_of(response: Any) -> dict[str, Any]:
    assert response.status_code == 409, response.text
    error: dict[str, Any] = response.json()["error"]
    assert error["code"] == "transfer_limit"
    return error


def moves(engine: Any, clock: Any, license_id: int) -> Any:
    with engine.connect() as conn:
        return license_transfers(conn, license_id, clock.now())


def test_sixteen_hops_of_a_one_seat_key_between_two_computers_stop_at_the_limit(client, product, engine, clock):
    limit_moves(engine, 3, days=30)
    lic = issue(engine, clock)
    a, b = computer(client, product, "a"), computer(client, product, "b")
    assert activate(a, lic.key).status_code == 200  # the first seat: nobody freed it, not a move
    holder, other = a, b
    moved, refused = [], []
    for _ in range(16):
        clock.advance(hours=1)
        assert holder.check("/v1/deactivate")["status"] == "trial"
        answer = activate(other, lic.key)
        if answer.status_code == 200:
            moved.append(clock.now())
            holder, other = other, holder
        else:
            refused.append(error_of(answer))
            last = answer
            # The computer that gave the seat back takes it again: never a move.
            assert activate(holder, lic.key).status_code == 200
    assert len(moved) == 3 and len(refused) == 13
    again_at = moved[0] + dt.timedelta(days=30)
    assert {error["next_transfer_at"] for error in refused} == {to_iso(again_at)}
    assert refused[-1]["transfer_limit"] == 3 and refused[-1]["transfers_used"] == 3
    assert "2026-02-04 10:00 UTC" in refused[-1]["message"]
    assert int(last.headers["Retry-After"]) == math.ceil((again_at - clock.now()).total_seconds())
    assert moves(engine, clock, lic.id).used == 3 and moves(engine, clock, lic.id).left == 0
    with engine.connect() as conn:
        kept = conn.execute(
            sa.text("SELECT count(*) FROM events WHERE kind = 'register' AND license_id = :id"), {"id": lic.id}
        )
        assert kept.scalar_one() >= 13  # each refusal is evidence on the license, as a full license's is

    # Once the first move leaves the 30 days, one more is allowed; the next waits for the second.
    clock.set(again_at + dt.timedelta(seconds=1))
    assert holder.check("/v1/deactivate")["status"] == "trial_expired"  # its trial ended meanwhile
    assert activate(other, lic.key).status_code == 200
    other.check("/v1/deactivate")
    assert error_of(activate(holder, lic.key))["next_transfer_at"] == to_iso(moved[1] + dt.timedelta(days=30))


def test_reactivating_the_computer_that_gave_the_seat_back_is_never_a_move(client, product, engine, clock):
    limit_moves(engine, 1)
    lic = issue(engine, clock)
    a = computer(client, product, "a")
    for _ in range(5):
        assert activate(a, lic.key).status_code == 200
        assert a.check("/v1/deactivate")["status"] == "trial"
    # Another installation of the same computer (another data path) is the same machine too.
    beside = Installation(client, product.public_key, machine="a", disk="a-disk", mac="a-mac", path="/home/u/app")
    beside.check()
    assert activate(beside, lic.key).status_code == 200
    assert moves(engine, clock, lic.id).used == 0
    # One of two installations deactivating leaves the machine's seat where it is: nothing was freed.
    assert activate(a, lic.key).status_code == 200
    a.check("/v1/deactivate")
    b = computer(client, product, "b")
    assert activate(b, lic.key).json()["error"]["code"] == "too_many_devices"
    beside.check("/v1/deactivate")
    assert activate(b, lic.key).status_code == 200  # now the one move the type allows
    assert moves(engine, clock, lic.id).used == 1


def test_the_scheduled_release_and_the_vendor_freeing_a_seat_are_not_moves(client, product, engine, clock):
    limit_moves(engine, 0, seat_release_days=30)  # no move at all
    lic = issue(engine, clock)
    a, b = computer(client, product, "a"), computer(client, product, "b")
    assert activate(a, lic.key).status_code == 200
    a.check("/v1/deactivate")
    refused = activate(b, lic.key)
    assert error_of(refused)["next_transfer_at"] is None  # only the vendor can allow one
    assert "Retry-After" not in refused.headers
    assert activate(a, lic.key).status_code == 200
    # a falls silent: the schedule frees its seat, and b takes it.
    clock.advance(days=31)
    b.check()
    assert release_all(engine, clock.now()) == 1
    assert activate(b, lic.key).status_code == 200
    # The vendor frees b's seat by hand: a takes it.
    with engine.begin() as conn:
        free_seat(conn, device_id=b.device_id, actor="admin:ann@vendor.example", now=clock.now(), reason="swap")
    a.check()
    assert activate(a, lic.key).status_code == 200
    assert moves(engine, clock, lic.id).used == 0


def test_a_license_type_without_a_limit_stays_unlimited(client, product, engine, clock):
    lic = issue(engine, clock)
    a, b = computer(client, product, "a"), computer(client, product, "b")
    assert activate(a, lic.key).status_code == 200
    holder, other = a, b
    for _ in range(16):
        holder.check("/v1/deactivate")
        assert activate(other, lic.key).status_code == 200
        holder, other = other, holder
    counted = moves(engine, clock, lic.id)
    assert counted.used == 16 and counted.limit is None and counted.left is None


def test_seats_nobody_freed_are_taken_first(client, product, engine, clock):
    limit_moves(engine, 0)
    lic = issue(engine, clock, seats=3)
    a, b, c, d = (computer(client, product, name) for name in "abcd")
    assert activate(a, lic.key).status_code == 200 and activate(b, lic.key).status_code == 200
    a.check("/v1/deactivate")
    assert activate(c, lic.key).status_code == 200  # the third seat was never used: no move
    error_of(activate(d, lic.key))  # only a's seat is left: taking it elsewhere is a move
    assert activate(a, lic.key).status_code == 200


def test_activating_another_license_gives_the_first_ones_seat_back(client, product, engine, clock):
    limit_moves(engine, 0)
    first, second = issue(engine, clock), issue(engine, clock)
    a, b = computer(client, product, "a"), computer(client, product, "b")
    assert activate(a, first.key).status_code == 200
    assert activate(a, second.key).status_code == 200  # a leaves the first license for the second
    error_of(activate(b, first.key))
    assert activate(a, first.key).status_code == 200


def test_a_status_check_reads_and_writes_nothing_of_transfers(migrated, product, engine, clock):
    """The hot path stays as it was: only activations and deactivations touch the transfer tables."""
    if engine.dialect.name != "sqlite":
        pytest.skip("traced on SQLite's connection; the statements are the same code on PostgreSQL")
    from licentia.server.devices.service import Checker, CheckInput
    from licentia.server.products.service import Keyring
    from tests.server.helpers import fingerprint

    limit_moves(engine, 3)
    lic = issue(engine, clock)
    checker = Checker(Keyring(migrated.fernet()), product_ttl_seconds=0)
    fp = fingerprint("acme")

    def run(action: str, **kw: Any) -> tuple[Any, list[str]]:
        seen: list[str] = []
        with engine.begin() as conn:
            driver = conn.connection.dbapi_connection
            driver.set_trace_callback(seen.append)
            try:
                inp = CheckInput(
                    product="acme", now=clock.now(), components=fp["components"], data_path=fp["data_path"],
                    action=action, **kw,
                )  # fmt: skip
                outcome = checker.run(conn, inp)
            finally:
                driver.set_trace_callback(None)
        assert outcome.error is None, outcome.error
        assert any("devices" in statement for statement in seen)  # the trace sees the driver's own statements
        return outcome, [s for s in seen if "freed_seats" in s or "transfer_grants" in s]

    first, touched = run("check")
    assert touched == []
    credential = (first.credential["device"], first.credential["secret"])
    activated, touched = run("activate", credential=credential, token=first.document["token"], license_key=lic.key)
    assert touched  # the trace sees the statements an activation makes
    deactivated, touched = run("deactivate", credential=credential, token=activated.document["token"])
    assert touched
    checked, touched = run("check", credential=credential, token=deactivated.document["token"])
    assert touched == []
    _, touched = run("check", credential=credential, token=checked.document["token"])
    assert touched == []


# The rule itself, without a database.


def test_an_activation_takes_its_own_freed_seat_then_a_seat_nobody_freed_then_the_oldest_freed_one():
    freed = [Pending(1, "m1"), Pending(2, "m2")]
    assert classify(freed, machine_id="m2", seats_used=0, max_devices=2) == Move(2, Outcome.RETURNED)
    assert classify(freed, machine_id="m3", seats_used=0, max_devices=3) == Move(None, None)
    assert classify(freed, machine_id="m3", seats_used=0, max_devices=2) == Move(1, Outcome.TRANSFER)
    assert classify([], machine_id="m3", seats_used=0, max_devices=1) == Move(None, None)


@pytest.mark.parametrize(
    ("counted", "limit", "extra", "left", "next_day"),
    [
        ([], 3, 0, 3, None),
        ([1, 2], 3, 0, 1, None),
        ([1, 2, 3], 3, 0, 0, 31),  # the first leaves the window on day 31
        ([1, 2, 3, 4], 3, 0, 0, 32),  # a lowered limit: two must leave
        ([1, 2, 3], 3, 2, 2, None),  # the vendor's grants come after the limit
        ([1], 0, 0, 0, None),  # no move without the vendor
        ([1, 2], None, 0, None, None),
    ],
)
def test_the_standing_says_what_is_left_and_when_the_next_move_is_allowed(counted, limit, extra, left, next_day):
    day = dt.datetime(2026, 1, 1, tzinfo=UTC)
    times = [day + dt.timedelta(days=n) for n in counted]
    found = judge(times, limit=limit, period_days=30, extra=extra)
    assert found.left == left and found.used == len(counted)
    assert found.next_transfer_at == (None if next_day is None else day + dt.timedelta(days=next_day))
