"""User seats: a license whose seats are people, each on a few machines, freed and reassigned by the vendor."""

from __future__ import annotations

from typing import Any

import pytest

from licentia.server.errors import ApiError
from tests.server.helpers import Installation
from tests.server.users.conftest import app, sign_in

LEAD, ANN, BOB = "lead@team.example", "ann@team.example", "bob@team.example"


def vendor(engine: Any, clock: Any, fn: str, **kwargs: Any) -> Any:
    from licentia.server.users import service

    with engine.begin() as conn:
        return getattr(service, fn)(conn, actor="admin:vendor@example.com", now=clock.now(), **kwargs)


def users_of(engine: Any, license_id: int) -> list[dict[str, Any]]:
    from licentia.server.users.service import list_users

    with engine.begin() as conn:
        return list_users(conn, license_id=license_id)


def test_the_customer_signs_in_and_the_signed_status_names_them(client, product, engine, clock, team):
    first = app(client, product, 1)
    assert first.check()["user"] is None
    sign_in(engine, clock, first, LEAD)
    doc = first.check()
    assert (doc["status"], doc["user"], doc["license"]["policy"]) == ("registered", LEAD, "Team")


def test_one_person_on_a_second_machine_holds_one_seat(client, product, engine, clock, team):
    laptop, desktop, third = (app(client, product, n) for n in (1, 2, 3))
    sign_in(engine, clock, laptop, LEAD)
    sign_in(engine, clock, desktop, LEAD)
    assert [u["email"] for u in users_of(engine, team.id)] == [LEAD]
    # machines_per_user is 2: a third machine of the same person is refused, and holds nothing.
    with pytest.raises(ApiError) as refused:
        sign_in(engine, clock, third, LEAD)
    assert refused.value.code == "too_many_user_machines"
    assert third.check()["status"] == "trial"
    assert laptop.check()["user"] == desktop.check()["user"] == LEAD


def test_seats_count_people_and_a_vendor_assignment_lets_someone_else_in(client, product, engine, clock, team):
    apps = [app(client, product, n) for n in range(4)]
    with pytest.raises(ApiError) as stranger:
        sign_in(engine, clock, apps[0], ANN)  # neither the customer nor assigned
    assert stranger.value.code == "no_user_license"
    assert vendor(engine, clock, "assign_user", license_id=team.id, email=ANN) is True
    sign_in(engine, clock, apps[0], ANN)
    sign_in(engine, clock, apps[1], LEAD)  # the second and last seat
    with pytest.raises(ApiError) as full:
        vendor(engine, clock, "assign_user", license_id=team.id, email=BOB)
    assert full.value.code == "no_user_seat"
    assert apps[0].check()["user"] == ANN


def test_a_freed_seat_takes_the_users_machines_off_and_a_reassigned_one_lets_the_next_in(
    client, product, engine, clock, team
):
    mine, other = app(client, product, 1), app(client, product, 2)
    vendor(engine, clock, "assign_user", license_id=team.id, email=ANN)
    sign_in(engine, clock, mine, ANN)
    sign_in(engine, clock, other, LEAD)
    vendor(engine, clock, "reassign_user", license_id=team.id, email=ANN, to=BOB)
    doc = mine.check()
    assert (doc["status"], doc["user"], doc["license"]) == ("trial", None, None)
    sign_in(engine, clock, mine, BOB)
    assert mine.check()["user"] == BOB
    assert vendor(engine, clock, "free_user", license_id=team.id, email=LEAD, reason="left") == 1
    assert other.check()["license"] is None
    with pytest.raises(ApiError) as gone:
        vendor(engine, clock, "free_user", license_id=team.id, email=LEAD)
    assert gone.value.code == "unknown_user"


def test_a_user_license_key_activates_nothing(client, product, engine, clock, team):
    one = app(client, product, 1)
    answer = one.call("/v1/activate", key=team.key)
    assert answer.status_code == 409 and answer.json()["error"]["code"] == "user_license"


def test_a_copied_installation_of_a_users_machine_is_still_a_copy(client, product, engine, clock, team):
    original = app(client, product, 1)
    sign_in(engine, clock, original, LEAD)
    original.check()
    copy = Installation(client, product.public_key, machine="cm", disk="cd", mac="cn")
    copy.credential, copy.token = original.credential, original.token
    original.check()  # the original moves on; the copy still holds the older token
    doc = copy.check()
    assert doc["clone_suspected"] is True


def test_people_named_without_a_seat_take_one_at_their_first_sign_in_while_one_is_free(
    client, product, engine, clock, team
):
    apps = [app(client, product, n) for n in range(3)]
    for email in (ANN, BOB, LEAD):
        vendor(engine, clock, "assign_user", license_id=team.id, email=email, seat=False)
    assert [u["seated_at"] for u in users_of(engine, team.id)] == [None, None, None]
    sign_in(engine, clock, apps[0], BOB)
    sign_in(engine, clock, apps[1], ANN)
    with pytest.raises(ApiError) as full:  # two seats, both taken: the third named person waits for one
        sign_in(engine, clock, apps[2], LEAD)
    assert full.value.code == "no_user_seat"
    vendor(engine, clock, "free_user", license_id=team.id, email=BOB)
    sign_in(engine, clock, apps[2], LEAD)
    assert apps[2].check()["user"] == LEAD and apps[0].check()["user"] is None
